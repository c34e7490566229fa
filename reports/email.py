"""The leadership KPI e-mail: e-mail-safe HTML (tables, inline CSS, 600 px) with the chart as an inline
CID image, and a plain-text alternative. Portfolio figures only: no names, no rates, no per-person hours."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from reports.pack import PackInput, environment, latest_rows, money, ratio


def leadership_email(inp: PackInput, sender: str, recipients: list[str], chart_png: bytes) -> EmailMessage:
    env = environment()
    total = inp.portfolio.filter(
        (inp.portfolio["group_level"] == "total") & (inp.portfolio["status_date"] == inp.status_date)
    ).to_dicts()
    projects = latest_rows(inp.evm, inp.projects, inp.status_date)
    watch = sorted(
        (p for p in projects if p["cpi"] is not None and p["spi"] is not None and min(p["cpi"], p["spi"]) < 0.95),
        key=lambda p: min(p["cpi"], p["spi"]),
    )
    cid = make_msgid(domain="pmo-kpi.local")
    context = {
        "status_date": inp.status_date.isoformat(),
        "currency": inp.currency,
        "total": total[0] if total else None,
        "watch": watch,
        "projects": len(projects),
        "chart_cid": cid[1:-1],
        "snapshot": inp.snapshot[:12],
    }
    msg = EmailMessage()
    msg["Subject"] = f"Portfolio KPIs for the week ending {inp.status_date.isoformat()}"
    msg["From"] = sender
    msg["To"] = ", ".join(recipients) if recipients else sender
    msg["Date"] = format_datetime(dt.datetime.combine(inp.status_date, dt.time(8, 0), tzinfo=dt.UTC))
    msg["Message-ID"] = make_msgid(idstring=f"kpi-{inp.status_date.isoformat()}", domain="pmo-kpi.local")
    msg.set_content(env.get_template("email.txt.j2").render(**context, money=money, ratio=ratio))
    msg.add_alternative(env.get_template("email.html.j2").render(**context), subtype="html")
    msg.get_payload()[1].add_related(chart_png, maintype="image", subtype="png", cid=cid, filename="portfolio.png")
    return msg
