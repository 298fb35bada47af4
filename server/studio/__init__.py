"""The review studio's web app: a JSON API over ``ftds.tools.studio`` and a single-page UI shipped as
static files (plain HTML/CSS/JS, no CDN, no build step). ``ftds-agent studio`` starts it."""
