/* Static blocks (components/static.py): an element whose data-static-html attribute holds
   the HTML of a table or other static markup; the markup is written into the element when
   the element appears or the attribute changes.  Only that attribute is read: the server
   makes it from dash.html components, with every text and attribute value escaped, and
   refuses it on anything else. */
(function () {
    "use strict";
    var ATTR = "data-static-html";
    function fill(el) {
        var markup = el.getAttribute(ATTR);
        if (markup !== null && el.amkStaticHtml !== markup) {
            el.innerHTML = markup;
            el.amkStaticHtml = markup;
        }
    }
    function scan(node) {
        // text, and elements with no element inside (a plotly hover label), hold no block
        if (node.nodeType !== 1) { return; }
        if (node.hasAttribute(ATTR)) { fill(node); }
        if (node.firstElementChild && !(node instanceof SVGElement)) {
            node.querySelectorAll("[" + ATTR + "]").forEach(fill);
        }
    }
    new MutationObserver(function (records) {
        records.forEach(function (r) {
            if (r.type === "attributes") { fill(r.target); } else { r.addedNodes.forEach(scan); }
        });
    }).observe(document.documentElement, {
        childList: true, subtree: true, attributes: true, attributeFilter: [ATTR]
    });
    scan(document.documentElement);
}());
