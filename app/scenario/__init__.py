"""The scenario planner's model: an uploaded workbook's formulas (or the vetted driver model)
compiled to JSON and evaluated by ``app/static/scenario_model.js``, on the server and in the page.

``formula`` parses formulas, ``workbook`` compiles a workbook, ``spec`` finds each scenario's
assumption and output cells, ``engine`` runs the evaluator in QuickJS, ``crosscheck`` asks the
``formulas`` package for a second opinion, ``view`` and ``figures`` shape the page, and
``planner`` ties them together as the template's computation (see :mod:`app.compute`).
"""
