"""The web relay example (lesson 12): relay.py is the app, serve.py serves it, page.html is the page."""
