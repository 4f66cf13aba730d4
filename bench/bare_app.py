"""The benchmark's yardstick: a bare Flask app, no database, no extension, no middleware:
one route rendering a 24-item Jinja list. Served by gunicorn like the real app:
`bench.bare_app:app`. Every page of bench/pages.py is reported as a ratio to it."""

from flask import Flask

app = Flask(__name__)

ITEMS = [{"id": n, "name": f"商品 {n}", "price": f"{n * 3.5:.2f}"} for n in range(1, 25)]

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>Bare</title></head>
<body><h1>静态列表</h1><ul>
{% for item in items %}<li><a href="/products/{{ item.id }}">{{ item.name }}</a>
<span>¥{{ item.price }}</span></li>
{% endfor %}</ul></body></html>"""


TEMPLATE = app.jinja_env.from_string(PAGE)  # compiled once, as a template file would be


@app.route("/")
def bare():
    return TEMPLATE.render(items=ITEMS)
