"""The benchmark's yardstick: the real app (same factory, extensions, middleware and base
template) with one extra route that renders base.html around static content and runs no
query of its own. Served by gunicorn exactly like the real app: `bench.minimal_app:app`."""

from flask import render_template

from marketplace import create_app

PAGE = """{% extends "base.html" %}
{% block title %}Benchmark{% endblock %}
{% block content %}
<h1 class="h4">静态页面</h1>
<p>这是基准测试用的静态内容，与产品列表使用同一个基础模板。</p>
{% endblock %}"""

app = create_app()
TEMPLATE = app.jinja_env.from_string(PAGE)  # compiled once, as a template file would be


@app.route("/bench/minimal")
def minimal():
    return render_template(TEMPLATE)
