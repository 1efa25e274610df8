// governance pages: progressive enhancement; see app/web/ui/governance.py.
