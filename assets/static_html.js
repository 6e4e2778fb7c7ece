/* Static blocks (components/static.py): a div whose data-html attribute holds the HTML of
   a table or other static markup, written into the div when the div appears or the
   attribute changes.  The markup is made on the server from dash.html components, with
   every text and attribute value escaped. */
(function () {
    "use strict";
    function fill(el) {
        var markup = el.getAttribute("data-html");
        if (markup !== null && el.amkStaticHtml !== markup) {
            el.innerHTML = markup;
            el.amkStaticHtml = markup;
        }
    }
    function scan(node) {
        if (node.nodeType !== 1) { return; }
        if (node.hasAttribute("data-html")) { fill(node); }
        node.querySelectorAll("[data-html]").forEach(fill);
    }
    new MutationObserver(function (records) {
        records.forEach(function (r) {
            if (r.type === "attributes") { fill(r.target); } else { r.addedNodes.forEach(scan); }
        });
    }).observe(document.documentElement, {
        childList: true, subtree: true, attributes: true, attributeFilter: ["data-html"]
    });
    scan(document.documentElement);
}());
