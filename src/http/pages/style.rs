//! The pages' one style sheet (inline in each page's head).

pub(super) const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1b1d21}\
header{display:flex;justify-content:space-between;padding:.8rem 1.2rem;background:#123c5a;color:#fff}\
header a{color:#fff}main{max-width:60rem;margin:1.5rem auto;padding:0 1rem}\
form.login{max-width:22rem;display:grid;gap:.6rem}input,button{font-size:1.2rem;padding:.6rem}\
button{background:#123c5a;color:#fff;border:0;border-radius:.3rem}.err{color:#a40000;font-weight:600}\
table{border-collapse:collapse;width:100%;background:#fff}td,th{padding:.4rem .6rem;border-bottom:1px solid #ddd;text-align:right}\
td:first-child,th:first-child{text-align:left}.scroll{overflow-x:auto;max-width:100%}\
td.bar{width:30%}.bars{display:flex;height:1rem;background:#eee}.bars span{display:block}\
.bars .ok{background:#2e7d32}.bars .q{background:#f9a825}.bars .x{background:#c62828}\
tr.ok td{color:#1b5e20}tr.bad td{color:#a40000;font-weight:600}.okmsg{color:#1b5e20;font-weight:600}\
form#receive,form#makewave{display:grid;gap:.5rem;max-width:26rem}form#makewave label{display:grid}form.assign{display:flex;gap:.3rem}form.assign select,form.assign button{font-size:1rem;padding:.3rem}tr.done td{color:#555}small.waveorders{font-weight:400}form#receive label{display:grid}#scans td{text-align:left}\
body.good{background:#a5d6a7}body.bad{background:#ef9a9a}body.warn{background:#ffe082}.warnmsg{color:#8a5a00;font-weight:600}#card{background:#fff;border-radius:.5rem;padding:1rem;text-align:center}\
#loc{font-size:3.5rem;font-weight:800;letter-spacing:.05em}#prod{font-size:1.6rem;margin:.4rem 0}#detail{font-size:1.3rem}\
#scanform{display:flex;gap:.5rem;margin:1rem 0}#scan{flex:1;min-width:0;font-size:1.5rem}#qty{width:4rem;min-width:0}#kbd{font-size:1.4rem;padding:.4rem .6rem}#kbd[aria-pressed=true]{background:#1f7a3a}#msg{font-size:1.4rem;min-height:2rem}\
.buttons{display:flex;gap:.5rem;flex-wrap:wrap}.buttons button{flex:1}form.take button{width:100%;margin:.3rem 0;font-size:1.4rem}label.station{display:grid;margin-bottom:1rem}\
#pick[data-online=no] #progress::after{content:' · offline';color:#a40000}a.big{font-size:1.3rem;font-weight:600}.previews{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}.previews figure{margin:0;border:1px solid #ccc;padding:.4em;background:#fff}.previews img{display:block;max-width:100%;height:auto}.current{background:#fff;border:2px solid #123c5a;border-radius:.6rem;padding:1rem;margin:1rem 0}.spec{font-size:4rem;font-weight:700;margin:.2rem 0}.what{font-size:1.5rem}.actions{display:flex;flex-wrap:wrap;gap:.8rem}.actions button:disabled{opacity:.35}.actions button.ok{background:#1f7a3a}.actions button.bad{background:#a32020}.actions button{min-width:9rem;min-height:4rem;font-size:1.5rem}.badge{font-size:1rem;padding:.2rem .6rem;border-radius:1rem;background:#ddd}.badge.ok{background:#c8f0d0}.badge.bad{background:#f6c9c9}#queue li{font-size:1.3rem;margin:.3rem 0}\
.will{background:#fff;border:2px solid #123c5a;border-radius:.5rem;padding:.8rem;margin:.8rem 0;max-width:26rem;font-size:1.2rem}\
.will.flash{animation:flash 1.2s}@keyframes flash{from{background:#fff59d}to{background:#fff}}\
.demoband{background:#ffd600;color:#1b1d21;border-bottom:.3rem solid #b71c1c;padding:.4rem 1.2rem;text-align:center;font-weight:800;letter-spacing:.04em}";
