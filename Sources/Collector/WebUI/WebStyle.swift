/// The web UI's one stylesheet, served from the binary at `/ui/style.css` (the pages' CSP
/// allows styles from there only). Light and dark follow the browser's setting.
enum WebStyle {
    /// Nesting levels a waterfall or a comparison indents; deeper rows line up with this one.
    static let maxDepth = 40

    /// Steps of a waterfall's bar column: a bar starts at one (`x0`…`x999`) and spans some
    /// (`w1`…`w1000`), each a thousandth of the trace. Classes, as the CSP allows no inline style.
    static let barSteps = 1_000

    static let css = rules + (1...maxDepth).map { ".depth-\($0) { padding-left: \(Double($0) * 1.1)rem; }" }.joined(separator: "\n") + "\n"
        // In a waterfall's narrower column the indent stops at half of it, so deep names still show.
        + (1...maxDepth).map { "div.waterfall .depth-\($0){padding-left:min(\(Double($0) * 1.1)rem,50%)}" }.joined() + "\n"
        // A bar is a grid cell: its margin and width are parts of its column (its grid area).
        + (0..<barSteps).map { ".x\($0){margin-left:\(percent($0))}" }.joined() + "\n"
        + (1...barSteps).map { ".w\($0){width:\(percent($0))}" }.joined() + "\n"

    /// Changes whenever the stylesheet does: pages link `/ui/style.css?v=…`, so a browser that
    /// cached another build's stylesheet (bars are placed by its classes) fetches this one.
    static let version: String = {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in css.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16)
    }()

    /// `12.3%` of `steps` thousandths.
    private static func percent(_ steps: Int) -> String {
        "\(steps / 10)" + (steps % 10 == 0 ? "" : ".\(steps % 10)") + "%"
    }

    private static let rules = """
        :root { --fg: #1d2330; --dim: #667085; --bg: #ffffff; --panel: #f4f6fa; --line: #d9dee8; --accent: #2f6fde;
          --bad: #c62f2f; --bad-bg: #fdecec; --warn: #a15c00; --bar: #4c8bf5; --ok: #1f8a4c; --match: #fff4c2; color-scheme: light dark; }
        @media (prefers-color-scheme: dark) {
          :root { --fg: #e6e9ef; --dim: #9aa3b2; --bg: #14171c; --panel: #1d2128; --line: #2e3440; --accent: #7aa7ff;
            --bad: #ff7a7a; --bad-bg: #3a1e22; --warn: #f0b35a; --bar: #5d95f7; --ok: #5fd08f; --match: #4a4120; }
        }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
        header { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.2rem; background: var(--panel); border-bottom: 1px solid var(--line); }
        header .brand { font-weight: 700; color: var(--fg); text-decoration: none; letter-spacing: .02em; }
        nav { display: flex; gap: 1rem; flex: 1; }
        nav a { color: var(--dim); text-decoration: none; padding: .2rem 0; border-bottom: 2px solid transparent; }
        nav a.current, nav a:hover { color: var(--fg); border-bottom-color: var(--accent); }
        main { padding: 1rem 1.2rem 3rem; max-width: 1600px; }
        h1 { font-size: 1.35rem; margin: .2rem 0 1rem; }
        h2 { font-size: 1.1rem; margin: 2rem 0 .6rem; }
        a { color: var(--accent); }
        code, .trace-id, td.number, .attribute { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
        form.search, form.login { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: end; margin-bottom: 1rem; }
        label { display: flex; flex-direction: column; font-size: 12px; color: var(--dim); gap: .2rem; }
        input, select, button { font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: .3rem .5rem; }
        input { min-width: 12rem; }
        button { background: var(--accent); border-color: var(--accent); color: #fff; cursor: pointer; padding: .3rem .9rem; }
        form.signout button { background: transparent; color: var(--dim); border-color: var(--line); }
        table { border-collapse: collapse; width: 100%; }
        table.narrow { width: auto; min-width: 24rem; }
        th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { font-size: 12px; color: var(--dim); font-weight: 600; }
        td.number { text-align: right; white-space: nowrap; }
        table.results td:first-child { white-space: nowrap; }
        tr.failed td:first-child { box-shadow: inset 3px 0 var(--bad); }
        tr.level-error td { background: var(--bad-bg); }
        tr.level-warn td:nth-child(3) { color: var(--warn); }
        td.message { white-space: pre-wrap; word-break: break-word; }
        .attribute { color: var(--dim); }
        .dim, .hint, .summary { color: var(--dim); }
        .note { background: var(--panel); border-left: 3px solid var(--accent); padding: .5rem .8rem; }
        .error { background: var(--bad-bg); color: var(--bad); border-left: 3px solid var(--bad); padding: .5rem .8rem; }
        div.waterfall { border: 1px solid var(--line); margin: .8rem 0; }
        div.waterfall .row { display: grid; grid-template-columns: minmax(0, 40%) 6.5em minmax(0, 1fr); column-gap: .8rem;
          padding: .2rem .6rem; border-bottom: 1px solid var(--line); content-visibility: auto; contain-intrinsic-block-size: auto 1.3rem; }
        div.waterfall .row.head { font-weight: 600; background: var(--panel); content-visibility: visible; }
        div.waterfall .span { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
        div.waterfall .span > a { color: inherit; text-decoration: none; }
        div.waterfall .span > a:hover, div.waterfall .span > a:focus-visible { text-decoration: underline; }
        div.waterfall summary { overflow: hidden; text-overflow: ellipsis; }
        div.waterfall summary:focus-visible { outline-offset: -2px; }
        div.waterfall details[open] { white-space: normal; }
        div.waterfall .service { color: var(--dim); }
        div.waterfall .number { text-align: right; white-space: nowrap; font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
        div.waterfall i.bar { justify-self: start; align-self: start; height: 12px; margin-top: .2rem; min-width: 1px; background: var(--bar);
          print-color-adjust: exact; -webkit-print-color-adjust: exact; forced-color-adjust: none; }
        div.waterfall i.bar.failed { background: var(--bad); }
        div.waterfall i.bar.critical { outline: 1.5px solid var(--fg); }
        div.waterfall .row.failed { box-shadow: inset 3px 0 var(--bad); }
        div.waterfall .row.match { background: var(--match); }
        div.waterfall .row.unmatched { opacity: .45; }
        svg.chart { width: 100%; max-width: 900px; height: 160px; display: block; background: var(--panel); border: 1px solid var(--line); }
        svg.chart polyline.budget { fill: none; stroke: var(--bar); stroke-width: 2; vector-effect: non-scaling-stroke; }
        svg.chart line.zero { stroke: var(--bad); stroke-dasharray: 4 4; vector-effect: non-scaling-stroke; }
        .orphan { color: var(--warn); }
        details.statistics { margin-top: 1.5rem; }
        svg.scatter { width: 100%; max-width: 1200px; height: 160px; display: block; margin-bottom: .8rem; background: var(--panel); border: 1px solid var(--line); }
        svg.scatter circle.trace { fill: var(--bar); fill-opacity: .75; }
        svg.scatter circle.trace.failed { fill: var(--bad); }
        svg.scatter a:hover circle { stroke: var(--fg); stroke-width: 2; }
        svg.scatter line.axis { stroke: var(--line); }
        svg.scatter text.axis { fill: var(--dim); font-size: 11px; text-anchor: end; }
        input[type=checkbox] { min-width: 0; }
        td.time { white-space: nowrap; }
        label.check { flex-direction: row; align-items: center; gap: .35rem; color: var(--fg); font-size: 13px; padding-bottom: .35rem; }
        form.compare-with { margin-top: 1.5rem; }
        form.compare > button { margin-top: .6rem; }
        tr.only-a td:first-child { box-shadow: inset 3px 0 var(--bad); }
        tr.only-b td:first-child { box-shadow: inset 3px 0 var(--ok); }
        .slower { color: var(--bad); }
        .faster { color: var(--ok); }
        details.statistics summary { font-weight: 600; margin-bottom: .5rem; }
        div.graph { overflow: auto; max-height: 70vh; background: var(--panel); border: 1px solid var(--line); margin-bottom: 1rem; }
        svg.graph { display: block; }
        svg.graph rect.service { fill: var(--bg); stroke: var(--accent); stroke-width: 1.5; }
        svg.graph rect.service.failed { stroke: var(--bad); stroke-width: 2.5; }
        svg.graph .service text { fill: var(--fg); text-anchor: middle; font-size: 13px; }
        svg.graph a.service:hover rect { fill: var(--panel); }
        svg.graph g.call path { fill: none; stroke: var(--dim); }
        svg.graph g.call.failed path { stroke: var(--bad); }
        svg.graph g.call.back path { stroke-dasharray: 5 4; }
        svg.graph g.call text { fill: var(--dim); text-anchor: middle; font-size: 11px; }
        svg.graph g.call.failed text { fill: var(--bad); }
        svg.graph marker path { fill: var(--dim); stroke: none; }
        svg.graph marker path.failed { fill: var(--bad); }
        svg.spark { width: 120px; height: 24px; display: block; }
        svg.spark polyline, svg.traffic polyline { fill: none; stroke: var(--bar); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
        svg.spark polyline.errors, svg.traffic polyline.errors { stroke: var(--bad); }
        details summary { cursor: pointer; }
        table.attributes { margin: .4rem 0 .4rem 1rem; width: auto; }
        table.attributes th, table.attributes td { border: none; padding: .05rem .5rem; font-size: 12px; white-space: normal; word-break: break-word; }
        """
}
