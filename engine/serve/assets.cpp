// The pages' one stylesheet and one script, inline in every page (no request leaves for
// another host, and none is needed for a second file), and the Content-Security-Policy
// that allows exactly these two by their sha256: an injected <script> or inline handler
// would not run even if some run data escaped its escaping.
//
// The script only makes the page live: it ticks the RTO clock every second and, on each
// server-sent event of the run, fetches the page again and swaps in the parts that
// changed (never the form being typed in). Without it the page reads the same, and a
// <noscript> refresh every 10 s keeps it current.
#include "serve/pages.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <fmt/format.h>

namespace rb::serve {

const char* const kPageCss = R"CSS(
:root{--bg:#0f1419;--card:#1a2129;--ink:#e6e9ec;--dim:#8d99a6;--line:#2b3540;--ok:#3fb950;--warn:#d29922;--bad:#f85149;--acc:#58a6ff}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
a{color:var(--acc)}
.top{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;padding:.6rem 1rem;border-bottom:1px solid var(--line)}
.top .brand{font-weight:700;text-decoration:none;color:var(--ink)}
.top .who{margin-left:auto;color:var(--dim)}
.top form{display:inline}
main{padding:1rem;max-width:1800px;margin:0 auto}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:1rem;margin:0 0 1rem}
h1{font-size:1.35rem;margin:0 0 .3rem}
h2{font-size:1.05rem;margin:0 0 .6rem;color:var(--dim);text-transform:uppercase;letter-spacing:.04em}
.meta{color:var(--dim);margin:.2rem 0}
.badge{display:inline-block;padding:.1rem .6rem;border-radius:99px;font-weight:600;font-size:.9rem;border:1px solid currentColor}
.st-running,.st-interrupted{color:var(--acc)}.st-recovered{color:var(--ok)}.st-failed,.st-aborted{color:var(--bad)}
.clock .big{font-size:2.6rem;font-weight:700;font-variant-numeric:tabular-nums;line-height:1.1}
.clock .big small{font-size:1rem;color:var(--dim);font-weight:400}
.clock meter{width:100%;height:1.3rem;margin:.6rem 0}
.clock.state-warning .big{color:var(--warn)}.clock.state-breached .big,.clock.state-missed .big{color:var(--bad)}
.clock.state-met .big{color:var(--ok)}
.clock .line{font-variant-numeric:tabular-nums}
.ask{border:2px solid var(--warn)}
.ask .prompt{font-size:1.15rem;font-weight:600;margin:.2rem 0 .6rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0 0 .8rem}
dl.facts dt{color:var(--dim)}dl.facts dd{margin:0;font-weight:600;word-break:break-word}
.answer{display:flex;flex-wrap:wrap;gap:.6rem}
.answer input[type=text]{flex:1 1 100%;padding:.7rem;border-radius:8px;border:1px solid var(--line);background:var(--bg);color:var(--ink);font-size:1rem}
button{font-size:1.05rem;padding:.75rem 1.3rem;border-radius:8px;border:0;font-weight:700;cursor:pointer;min-width:8rem}
button.yes{background:var(--ok);color:#04140a}button.no{background:var(--bad);color:#1a0404}
button.plain{background:var(--line);color:var(--ink);min-width:0;padding:.4rem .8rem;font-size:.9rem}
.note{color:var(--dim);font-size:.92rem}
.refused{color:var(--bad)}
ol.steps{list-style:none;margin:0;padding:0}
ol.steps li{display:flex;gap:.6rem;align-items:baseline;padding:.35rem 0;border-bottom:1px solid var(--line)}
ol.steps .mark{width:1.4rem;text-align:center;font-weight:700}
ol.steps .t{flex:1}ol.steps small{color:var(--dim);white-space:nowrap}
.s-succeeded .mark,.s-confirmed .mark{color:var(--ok)}.s-failed .mark,.s-timed_out .mark{color:var(--bad)}
.s-running .mark,.s-waiting .mark{color:var(--warn)}.s-planned{color:var(--dim)}
.over{color:var(--warn)}
ol.events{list-style:none;margin:0;padding:0;max-height:70vh;overflow:auto;font-size:.92rem}
ol.events li{padding:.25rem 0;border-bottom:1px solid var(--line);white-space:pre-wrap;word-break:break-word}
ol.events time{color:var(--dim);font-variant-numeric:tabular-nums;margin-right:.5rem}
textarea,select,input{font:inherit}
form.stack{display:grid;gap:.5rem}
form.stack textarea,form.stack input,form.stack select{padding:.6rem;border-radius:8px;border:1px solid var(--line);background:var(--bg);color:var(--ink)}
table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:.45rem .4rem;border-bottom:1px solid var(--line)}
th{color:var(--dim);font-weight:600}
.flash{border-color:var(--acc)}
.links a{margin-right:1rem}
@media (min-width:1200px){
 .room{display:grid;grid-template-columns:minmax(420px,1.2fr) 1fr 1fr;gap:1rem;align-items:start}
 .room .col{min-width:0}
 .clock .big{font-size:4rem}
}
@media (max-width:700px){
 main{padding:.6rem}.card{padding:.8rem;margin-bottom:.7rem}
 h1{font-size:1.15rem}
 .room .col{display:flex;flex-direction:column}
 #head{order:-3}#question{order:-2}
 .clock .big{font-size:2.2rem}
 button{flex:1 1 40%;padding:1rem}
 .hide-phone{display:none}
}
)CSS";

const char* const kPageJs = R"JS(
(function(){
var room=document.getElementById('room');
function fmt(ms){var neg=ms<0;ms=Math.abs(ms);var s=Math.floor(ms/1000),h=Math.floor(s/3600),m=Math.floor(s%3600/60);s=s%60;
 var out=h?h+'h '+(m<10?'0':'')+m+'m '+(s<10?'0':'')+s+'s':m?m+'m '+(s<10?'0':'')+s+'s':s+'s';return (neg?'-':'')+out;}
function set(id,text){var e=document.getElementById(id);if(e)e.textContent=text;}
function tick(){var c=document.getElementById('clock');if(!c||c.dataset.running!=='1')return;
 var el=(+c.dataset.elapsed)+(Date.now()-(+c.dataset.loaded));set('elapsed',fmt(el));
 var rto=+c.dataset.rto;if(rto>0){var rem=rto-el,pct=100*el/rto;
  set('remaining',rem>=0?fmt(rem)+' left':fmt(-rem)+' over');set('percent',Math.floor(pct)+'%');
  var m=document.getElementById('rto-meter');if(m)m.value=Math.min(pct,100);
  var st=pct>=100?'breached':pct>=80?'warning':'ok';c.className=c.className.replace(/state-\w+/,'state-'+st);}
 if(c.dataset.projected){var p=+c.dataset.projected+(Date.now()-(+c.dataset.loaded));set('projected',fmt(Math.max(p,el)));}}
function stamp(){var c=document.getElementById('clock');if(c)c.dataset.loaded=Date.now();}
stamp();setInterval(tick,1000);
if(!room||!window.EventSource||!window.fetch||!window.DOMParser)return;
var busy=false,again=false;
function refresh(){if(busy){again=true;return;}busy=true;
 fetch(location.pathname,{credentials:'same-origin',headers:{'Accept':'text/html'}}).then(function(r){return r.ok?r.text():null;})
 .then(function(html){busy=false;if(html){var d=new DOMParser().parseFromString(html,'text/html');
  ['head','clock','steps','timeline','notes-list'].forEach(function(id){var a=document.getElementById(id),b=d.getElementById(id);if(a&&b)a.replaceWith(b);});
  var qa=document.getElementById('question'),qb=d.getElementById('question');if(qa&&qb&&qa.dataset.key!==qb.dataset.key)qa.replaceWith(qb);
  var na=document.getElementById('note-form'),nb=d.getElementById('note-form');if(!na&&nb){var l=document.getElementById('notes');if(l)l.appendChild(nb);}
  stamp();tick();}
  if(again){again=false;refresh();}})
 .catch(function(){busy=false;});}
var pending=null;
var es=new EventSource('/api/runs/'+encodeURIComponent(room.dataset.run)+'/events?after='+encodeURIComponent(room.dataset.seq||'0'));
es.onmessage=function(){if(pending)return;pending=setTimeout(function(){pending=null;refresh();},100);};
})();
)JS";

namespace {

std::string sha256_b64(const char* text) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text), std::char_traits<char>::length(text), md);
  unsigned char out[64] = {0};
  int n = EVP_EncodeBlock(out, md, SHA256_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

}  // namespace

const std::string& page_csp() {
  static const std::string csp = fmt::format(
      "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; connect-src 'self'; img-src 'self' data:; "
      "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      sha256_b64(kPageJs), sha256_b64(kPageCss));
  return csp;
}

}  // namespace rb::serve
