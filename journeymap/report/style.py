"""The page's inline stylesheet and colours (system fonts only: the page works offline)."""

from __future__ import annotations

# One hue per journey stage (bars, column bands, Sankey nodes); text is never drawn in them.
STAGE_COLOURS = {
    "awareness": "#4e79a7",
    "consideration": "#8f6bb3",
    "purchase": "#2a9d8f",
    "retention": "#b07a4f",
    "advocacy": "#c2527d",
}
FALLBACK_COLOUR = "#8a94a6"
RISK_COLOURS = {"high": "#c0392b", "medium": "#e0a030", "low": "#7fb069"}
FLOW_COLOURS = {
    "converted": "#2e7d32",
    "dropped": "#c0392b",
    "more": "#a3acb9",
    "other": "#a3acb9",
}

CSS = """
:root {
  --ink: #1f2733; --muted: #5b6675; --faint: #8a94a6; --line: #dde2e8; --paper: #ffffff;
  --wash: #f5f7fa; --bad: #b42318; --bad-wash: #fdecea; --good: #2e7d32; --warn-wash: #fff4de;
  --warn-line: #e0a030;
}
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body {
  margin: 0; background: var(--wash); color: var(--ink);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "Liberation Sans", "DejaVu Sans", sans-serif;
}
.page { max-width: 1240px; margin: 0 auto; padding: 28px 24px 40px; }
h1, h2, h3, h4 { margin: 0; line-height: 1.2; }
h1 { font-size: 30px; letter-spacing: -0.01em; }
h2 { font-size: 21px; margin-bottom: 4px; }
h3 { font-size: 16px; }
h4 { font-size: 12px; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted);
  margin: 14px 0 6px; }
p { margin: 0; }
.eyebrow { color: var(--muted); font-size: 13px; margin-bottom: 6px; }
.lede { color: var(--muted); margin-bottom: 16px; max-width: 860px; }
strong { font-weight: 700; }
.bad { color: var(--bad); }
.num { font-variant-numeric: tabular-nums; }

/* headline */
.hero { background: var(--paper); border: 1px solid var(--line); border-radius: 14px;
  padding: 24px 28px; margin-bottom: 22px; }
.headline { font-size: 19px; line-height: 1.5; margin-top: 12px; max-width: 1080px; }
.headline .mark { background: var(--bad-wash); color: var(--bad); padding: 1px 6px;
  border-radius: 6px; font-weight: 700; white-space: nowrap; }
.kpis { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 14px;
  margin-top: 20px; }
.kpi { border-top: 3px solid var(--line); padding-top: 8px; }
.kpi .value { font-size: 26px; font-weight: 700; font-variant-numeric: tabular-nums; }
.kpi .label { color: var(--muted); font-size: 13px; }
.kpi.alert { border-top-color: var(--bad); }
.kpi.alert .value { color: var(--bad); }

section.card { background: var(--paper); border: 1px solid var(--line); border-radius: 14px;
  padding: 22px 24px 24px; margin-bottom: 22px; break-inside: avoid; }

/* journey map */
.journey { display: grid; gap: 0; align-items: stretch;
  grid-template-rows: repeat(5, auto) 1fr;
  grid-template-columns: minmax(0, 1fr) 66px minmax(0, 1fr) 66px minmax(0, 1fr) 66px
    minmax(0, 1fr) 66px minmax(0, 1fr); }
.stage { border: 1px solid var(--line); border-top: 6px solid var(--stage); border-radius: 10px;
  padding: 12px 11px 14px; background: var(--paper); min-width: 0;
  display: grid; grid-row: 1 / span 6; grid-template-rows: subgrid; row-gap: 0; }
.stage > * { min-width: 0; }
.stage-head { display: flex; align-items: baseline; gap: 8px; }
.stage-num { display: inline-flex; width: 22px; height: 22px; border-radius: 50%;
  background: var(--stage); color: #fff; font-size: 12px; font-weight: 700;
  align-items: center; justify-content: center; flex: none; }
.stage-reach { margin-top: 8px; font-size: 13px; color: var(--muted); }
.stage-reach strong { display: block; font-size: 26px; color: var(--ink);
  font-variant-numeric: tabular-nums; }
.stage-desc { font-size: 12.5px; color: var(--muted); margin-top: 6px; }
.stage-stop { font-size: 12.5px; margin-top: 8px; padding: 5px 8px; background: var(--wash);
  border-radius: 6px; align-self: start; }
.stage-stop.empty { background: none; padding: 0; }
.touchpoints { list-style: none; margin: 0; padding: 0; }
.tp { padding: 6px 6px 7px 8px; border-left: 3px solid transparent; border-radius: 4px;
  margin-bottom: 4px; }
.tp-line { display: flex; gap: 6px; align-items: baseline; font-size: 13px; }
.tp-name { font-weight: 600; overflow-wrap: anywhere; min-width: 0; }
.tp-value { margin-left: auto; font-variant-numeric: tabular-nums; color: var(--muted);
  font-size: 12px; }
.tp-channel { font-size: 10.5px; color: var(--muted); border: 1px solid var(--line);
  border-radius: 8px; padding: 0 5px; margin-right: 3px; white-space: nowrap;
  background: var(--paper); font-weight: 400; }
.tp-bar { height: 7px; background: #eef1f5; border-radius: 4px; margin-top: 4px;
  overflow: hidden; }
.tp-bar span { display: block; height: 100%; background: var(--stage); border-radius: 4px; }
.tp-note { font-size: 11.5px; color: var(--muted); margin-top: 3px; }
.tp.flag { border-left-color: var(--bad); background: var(--bad-wash); }
.tp.flag .tp-note { color: var(--bad); font-weight: 600; }
.tp-more { font-size: 12px; color: var(--muted); padding-left: 8px; }
.connector { grid-row: 1 / span 6; display: flex; flex-direction: column; align-items: center;
  justify-content: flex-start; text-align: center; padding: 64px 4px 0; font-size: 12px;
  color: var(--muted); }
.connector .arrow { width: 0; height: 0; border-top: 14px solid transparent;
  border-bottom: 14px solid transparent; border-left: 18px solid #c5ccd6; margin-bottom: 8px; }
.connector .go { color: var(--good); }
.connector .go strong, .connector .drop strong { display: block; font-size: 20px;
  font-variant-numeric: tabular-nums; }
.connector .drop { color: var(--bad); margin-top: 8px; }
.connector .time { margin-top: 8px; }
.connector.worst .drop { background: var(--bad-wash); border: 2px solid var(--bad);
  border-radius: 8px; padding: 4px 3px; }
.connector.worst .arrow { border-left-color: var(--bad); }
.connector .tag { display: block; font-size: 10.5px; font-weight: 700; text-transform: uppercase;
  letter-spacing: 0.04em; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; margin-top: 14px; font-size: 12.5px;
  color: var(--muted); }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 3px;
  vertical-align: -1px; margin-right: 5px; }

/* funnel */
.funnel { display: grid; grid-template-columns: 190px minmax(0, 1.25fr) minmax(0, 1fr);
  column-gap: 22px; }
.funnel-head { font-size: 12px; text-transform: uppercase; letter-spacing: 0.05em;
  color: var(--muted); padding-bottom: 6px; border-bottom: 1px solid var(--line); }
.funnel-row { display: contents; }
.funnel-row > div { padding: 10px 0; border-bottom: 1px solid var(--line); }
.funnel-row.gap > div { background: var(--warn-wash); }
.funnel-row.gap > div:first-child { box-shadow: inset 4px 0 0 var(--warn-line);
  padding-left: 10px; }
.step-name { font-weight: 600; }
.step-name small { display: block; font-weight: 400; color: var(--muted); font-size: 12px; }
.fbar { position: relative; height: 26px; background: #eef1f5; border-radius: 5px; }
.fbar span { position: absolute; left: 0; top: 0; bottom: 0; background: #4e79a7;
  border-radius: 5px; }
.fbar em { position: absolute; left: 8px; top: 4px; font-style: normal; font-size: 13px;
  font-weight: 600; color: var(--ink); white-space: nowrap; font-variant-numeric: tabular-nums; }
.fbar em.out { color: #fff; }
.fsub { font-size: 12px; color: var(--muted); margin-top: 3px; }
.devices { display: grid; gap: 4px; }
.dev { display: grid; grid-template-columns: 62px minmax(0, 1fr) 44px; gap: 8px;
  align-items: center; font-size: 12.5px; }
.dev .dbar { height: 10px; background: #eef1f5; border-radius: 5px; overflow: hidden; }
.dev .dbar span { display: block; height: 100%; background: #8a94a6; }
.dev .rate { text-align: right; font-variant-numeric: tabular-nums; font-weight: 600; }
.dev.worst .dbar span { background: var(--bad); }
.dev.worst .rate, .dev.worst .dname { color: var(--bad); font-weight: 700; }
.dev.best .dbar span { background: var(--good); }
.callout { grid-column: 1 / -1; background: var(--warn-wash);
  border-left: 4px solid var(--warn-line); padding: 10px 14px; font-size: 14px;
  border-bottom: 1px solid var(--line); }

/* paths */
.sankey { width: 100%; height: auto; display: block; font-size: 12px; }
.sankey text { fill: var(--ink); paint-order: stroke; stroke: #fff; stroke-width: 3px;
  stroke-linejoin: round; }
.sankey .sankey-count { fill: var(--muted); }
.sankey .sankey-col { font-size: 11px; font-weight: 700; fill: var(--muted);
  text-transform: uppercase; letter-spacing: 0.06em; }
.sankey-link { fill: none; stroke-opacity: 0.28; }
.sankey-link-dropped { stroke-opacity: 0.22; }
.sankey-link-converted { stroke-opacity: 0.4; }
.sankey-link:hover { stroke-opacity: 0.65; }
.sankey.focus .sankey-link { stroke-opacity: 0.07; }
.sankey.focus .sankey-link.on { stroke-opacity: 0.6; }
.sankey-node rect { stroke: #fff; stroke-width: 0.5; }
.paths-outcome { font-size: 15px; margin-bottom: 12px; }
.paths-grid { display: grid; grid-template-columns: minmax(0, 1fr); gap: 18px; }
.top-paths { list-style: none; margin: 0; padding: 0; columns: 2; column-gap: 28px; }
.top-paths li { break-inside: avoid; padding: 7px 0; border-bottom: 1px solid var(--line);
  font-size: 13px; display: flex; gap: 10px; align-items: baseline; }
.top-paths .rank { color: var(--faint); width: 18px; flex: none; text-align: right; }
.top-paths .steps { flex: 1; min-width: 0; }
.top-paths .step { white-space: nowrap; display: inline-block; }
.top-paths .sep { color: var(--faint); margin: 0 4px; }
.top-paths .figs { flex: none; color: var(--muted); font-variant-numeric: tabular-nums;
  text-align: right; }

/* churn */
.churn { display: grid; grid-template-columns: 150px minmax(0, 1.2fr) minmax(0, 1fr);
  column-gap: 20px; }
.churn-row { display: contents; }
.churn-row > div { padding: 9px 0; border-bottom: 1px solid var(--line); font-size: 13.5px; }
.riskbar { display: flex; height: 22px; border-radius: 5px; overflow: hidden;
  background: #eef1f5; }
.riskbar span { display: block; height: 100%; }
.riskfig { font-size: 12px; color: var(--muted); margin-top: 3px;
  font-variant-numeric: tabular-nums; }
.reason { color: var(--ink); }
.reason small { display: block; color: var(--muted); font-size: 12px; }
.note { background: var(--wash); border: 1px dashed var(--faint); border-radius: 10px;
  padding: 14px 16px; color: var(--ink); }

footer.health { font-size: 12.5px; color: var(--muted); border-top: 1px solid var(--line);
  padding-top: 14px; }
footer.health p + p { margin-top: 6px; }
footer.health code { font-size: 12px; background: #eef1f5; padding: 0 4px; border-radius: 3px; }

@media (max-width: 1000px) {
  .journey { grid-template-columns: minmax(0, 1fr); grid-template-rows: none; }
  .stage { display: block; grid-row: auto; }
  .connector { grid-row: auto; flex-direction: row; gap: 12px; padding: 8px 0; }
  .connector .arrow { transform: rotate(90deg); margin: 0; }
  .kpis { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .funnel, .churn { grid-template-columns: minmax(0, 1fr); }
  .top-paths { columns: 1; }
}
@media print {
  @page { size: A4 landscape; margin: 10mm; }
  body { background: #fff; font-size: 11px; }
  .page { max-width: none; padding: 0; }
  .hero, section.card { border: none; padding: 0 0 12px; margin-bottom: 14px; }
  section.card { break-before: auto; }
  .journey { grid-template-columns: minmax(0, 1fr) 60px minmax(0, 1fr) 60px minmax(0, 1fr)
    60px minmax(0, 1fr) 60px minmax(0, 1fr); }
  .tp, .funnel-row > div, .churn-row > div, .top-paths li { break-inside: avoid; }
  .tp-line { font-size: 11px; }
  .stage { padding: 10px 8px 12px; }
}
"""
