"""Residents' pages: /report (click the map, pick a category, submit) and /report/{id} (follow it).

Both are public. `static/report.js` does the work against the API: GET /api/v1/locate, then
/api/v1/catalogue?area= for the categories offered where the point is, POST /api/v1/incidents
with an Idempotency-Key per form, and GET /api/v1/incidents/{id} for the public view.
"""

from __future__ import annotations

from typing import Any

from api.settings import MapSettings
from web_map.pages import (
    LOCAL_JS,
    STATIC_URL,
    RawHtml,
    add_page_config,
    area_layers,
    base_map,
    figure_of,
)
from web_map.photo_labels import photo_labels
from web_map.workflow_labels import labels

REPORT_JS = [
    *LOCAL_JS,
    ("photos", f"{STATIC_URL}/photos.js"),
    ("report", f"{STATIC_URL}/report.js"),
]
STATUS_JS = [
    *LOCAL_JS,
    ("photos", f"{STATIC_URL}/photos.js"),
    ("report_status", f"{STATIC_URL}/report_status.js"),
]

REPORT_FORM = """
<aside id="gg-report" class="gg-side gg-report" data-state="idle" aria-label="上报 Report">
  <h1 class="gg-title">GridGov <span lang="zh-Hans">我要上报</span> Report a problem</h1>
  <p id="gg-who" class="gg-user" hidden></p>
  <p id="gg-closed" class="gg-error" hidden>
    本站需要登录后上报 Reporting here needs you to
    <a href="/login?next=/report">登录 sign in</a> first.</p>
  <p class="gg-hint">① 点击地图选择问题所在位置 · Click the map where the problem is.</p>
  <p><button type="button" id="gg-geolocate" hidden>使用我的位置 Use my location</button></p>
  <p id="gg-place" class="gg-place" data-state="none" aria-live="polite">
    尚未选择位置 No place chosen yet.</p>
  <form id="gg-report-form" class="gg-form" novalidate>
    <label>② 类别 Category
      <select name="category" id="gg-category" disabled>
        <option value="">请先选择位置 Choose a place first</option>
      </select></label>
    <label>③ 描述 Description
      <textarea name="description" id="gg-description" rows="4" maxlength="4000"></textarea>
    </label>
    <div id="gg-photo-slot"></div>
    <p id="gg-gps-offer" class="gg-gps-offer" hidden></p>
    <progress id="gg-upload" class="gg-photo-progress" max="1" value="0" hidden></progress>
    <fieldset>
      <legend>联系方式（可选，不公开）Contact (optional, never shown publicly)</legend>
      <label>姓名 Name <input name="name" maxlength="200" autocomplete="name"></label>
      <label>电话 Phone <input name="phone" type="tel" maxlength="40" autocomplete="tel"></label>
      <label>邮箱 Email <input name="email" type="email" maxlength="200" autocomplete="email">
      </label>
      <label class="gg-check"><input type="checkbox" name="notify" value="yes">
        同意通过以上电话或邮箱接收办理进展通知 Tell me of progress at this phone or e-mail</label>
    </fieldset>
    <p id="gg-report-error" class="gg-error" role="alert" hidden></p>
    <button type="submit" id="gg-submit">提交 Submit</button>
  </form>
  <section id="gg-result" class="gg-result" data-state="none" hidden aria-live="polite">
    <h2>已受理 Received</h2>
    <dl class="gg-facts">
      <dt>跟踪编号 Tracking id</dt><dd><strong data-field="id"></strong></dd>
      <dt>网格 Grid</dt><dd data-field="grid"></dd>
      <dt>责任部门 Department</dt><dd data-field="department"></dd>
    </dl>
    <p><a data-field="link" href="/report">查看进度 Follow this report</a></p>
    <p><button type="button" id="gg-again">再报一件 Report another problem</button></p>
  </section>
</aside>
"""

TRACK_PANEL = """
<aside id="gg-track" class="gg-side gg-report" data-state="loading" aria-label="进度 Status">
  <h1 class="gg-title">GridGov <span lang="zh-Hans">事件进度</span> Report status</h1>
  <p id="status" class="gg-status" role="status" aria-live="polite" data-state="loading">
    加载中 Loading…</p>
  <dl class="gg-facts" id="gg-track-facts"></dl>
  <div id="gg-track-photos"></div>
  <section id="gg-rate" class="gg-result" data-state="none" hidden>
    <h2>办理结果评价 回访</h2>
    <form id="gg-rate-form" class="gg-form">
      <fieldset class="gg-checks"><legend>您对办理结果是否满意？</legend>
        <label class="gg-check"><input type="radio" name="rating" value="satisfied" checked>
          满意</label>
        <label class="gg-check"><input type="radio" name="rating" value="basically_satisfied">
          基本满意</label>
        <label class="gg-check"><input type="radio" name="rating" value="unsatisfied">
          不满意</label>
      </fieldset>
      <label>意见（可选）<textarea name="comment" rows="3" maxlength="2000"></textarea></label>
      <label>上报时留的电话或邮箱（匿名上报时必填，仅用于核对）
        <input name="contact" maxlength="200" autocomplete="tel"></label>
      <p id="gg-rate-error" class="gg-error" role="alert" hidden></p>
      <button type="submit" id="gg-rate-submit">提交评价</button>
    </form>
  </section>
  <h2>经过 Timeline</h2>
  <ol id="gg-timeline" class="gg-timeline"></ol>
  <p><button type="button" id="gg-refresh">刷新 Refresh</button>
     <a href="/report">上报新问题 Report another problem</a> · <a href="/reports">我的上报</a></p>
</aside>
"""

MINE_PANEL = """
<aside id="gg-mine" class="gg-side gg-report" data-state="loading" aria-label="我的上报">
  <h1 class="gg-title">GridGov <span lang="zh-Hans">我的上报</span> My reports</h1>
  <section id="gg-mine-signed" hidden>
    <h2>我上报的问题</h2>
    <ol id="gg-mine-list" class="gg-timeline"></ol>
  </section>
  <h2>按跟踪编号查询</h2>
  <form id="gg-lookup-form" class="gg-form">
    <label>跟踪编号 <input name="id" required maxlength="64"></label>
    <label>上报时留的电话或邮箱 <input name="contact" required maxlength="200"></label>
    <button type="submit" id="gg-lookup-submit">查询</button>
  </form>
  <div id="gg-lookup-result" aria-live="polite"></div>
  <p><a href="/report">上报新问题</a></p>
</aside>
"""


def report_page(
    settings: MapSettings,
    *,
    signed_in: bool,
    public_reporting: bool,
    title: str = "GridGov · 我要上报 Report a problem",
    photos: dict[str, Any] | None = None,
) -> str:
    """The report form on a map; `signed_in` makes the script fetch the session's CSRF token."""
    fmap = base_map(settings, title=title)
    fmap.default_js = list(REPORT_JS)
    levels = area_layers(fmap, only=("grid",), labels=settings.level_labels)
    figure_of(fmap).html.add_child(RawHtml(REPORT_FORM))
    add_page_config(
        fmap,
        {
            "page": "report",
            "levels": levels,
            "signed_in": signed_in,
            "public_reporting": public_reporting,
            **labels(),
            **(photos or photo_labels()),
        },
    )
    return str(figure_of(fmap).render())


def report_status_page(
    settings: MapSettings,
    incident_id: str,
    *,
    signed_in: bool = False,
    title: str = "GridGov · 事件进度 Report status",
) -> str:
    """The reporter's view of one report: outcome, public steps, the 回访 rating form."""
    fmap = base_map(settings, title=title)
    fmap.default_js = list(STATUS_JS)
    figure_of(fmap).html.add_child(RawHtml(TRACK_PANEL))
    config = {"page": "report_status", "incident": incident_id, "signed_in": signed_in}
    add_page_config(fmap, {**config, **labels(), **photo_labels()})
    return str(figure_of(fmap).render())


def report_mine_page(
    settings: MapSettings, *, signed_in: bool = False, title: str = "GridGov · 我的上报 My reports"
) -> str:
    """My reports (signed in) and the lookup by tracking id + phone or e-mail."""
    fmap = base_map(settings, title=title)
    fmap.default_js = list(STATUS_JS)
    figure_of(fmap).html.add_child(RawHtml(MINE_PANEL))
    add_page_config(fmap, {"page": "report_mine", "signed_in": signed_in, **labels()})
    return str(figure_of(fmap).render())
