// content pages: progressive enhancement; see app/web/ui/content.py.
