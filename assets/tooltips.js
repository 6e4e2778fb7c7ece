/* Explanations of terms (components.layout.term): a "(?)" (class term-help) carries its
   explanation in data-tip.  Pointing at it, focusing it or tapping it shows the text in
   one tooltip beside it, kept inside the window (above, or below when there is no room);
   leaving it, Escape or a tap elsewhere hides it.  The pointer may move onto
   the tooltip without hiding it.  The text is set as text, never as markup. */
(function () {
    "use strict";
    var SEL = ".term-help[data-tip]";
    var GAP = 6;
    var MARGIN = 8;
    var tip = null;
    var owner = null;
    var timer = null;

    function element() {
        if (tip === null) {
            tip = document.createElement("div");
            tip.id = "amk-tip";
            tip.className = "amk-tip";
            tip.setAttribute("role", "tooltip");
            tip.hidden = true;
            tip.addEventListener("mouseenter", function () { clearTimeout(timer); });
            tip.addEventListener("mouseleave", hideSoon);
            document.body.appendChild(tip);
        }
        return tip;
    }

    function show(el) {
        clearTimeout(timer);
        var t = element();
        owner = el;
        t.textContent = el.getAttribute("data-tip");
        t.style.left = "0px";
        t.style.top = "0px";
        t.hidden = false;
        var r = el.getBoundingClientRect();
        var width = document.documentElement.clientWidth;
        var w = t.offsetWidth;
        var h = t.offsetHeight;
        var left = Math.max(MARGIN, Math.min(r.left + r.width / 2 - w / 2, width - w - MARGIN));
        var top = r.top - GAP - h;
        var below = top < MARGIN;
        if (below) { top = r.bottom + GAP; }
        t.classList.toggle("amk-tip-below", below);
        t.style.left = Math.round(left + window.scrollX) + "px";
        t.style.top = Math.round(top + window.scrollY) + "px";
    }

    function hide() {
        clearTimeout(timer);
        owner = null;
        if (tip !== null) { tip.hidden = true; }
    }

    function hideSoon() {
        clearTimeout(timer);
        timer = setTimeout(hide, 150);
    }

    function termOf(target) {
        return target && target.closest ? target.closest(SEL) : null;
    }

    document.addEventListener("mouseover", function (e) {
        var el = termOf(e.target);
        if (el !== null && el !== owner) { show(el); }
        else if (el !== null) { clearTimeout(timer); }
    });
    document.addEventListener("mouseout", function (e) {
        var el = termOf(e.target);
        if (el !== null && el === owner && !el.contains(e.relatedTarget)) { hideSoon(); }
    });
    document.addEventListener("focusin", function (e) {
        var el = termOf(e.target);
        if (el !== null) { show(el); }
    });
    document.addEventListener("focusout", function (e) {
        if (termOf(e.target) === owner) { hide(); }
    });
    document.addEventListener("click", function (e) {
        var el = termOf(e.target);
        if (el !== null) { show(el); }
        else if (owner !== null && !(tip && tip.contains(e.target))) { hide(); }
    });
    document.addEventListener("keydown", function (e) {
        if (e.key === "Escape" && owner !== null) { hide(); }
    });
    // the tooltip sits in the page, so it scrolls with it; a scrolled box or a new window
    // size moves its term: placed again
    function again() { if (owner !== null) { show(owner); } }
    window.addEventListener("scroll", again, true);
    window.addEventListener("resize", again);
}());
