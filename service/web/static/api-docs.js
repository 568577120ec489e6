/* Starts Swagger UI on /docs; a file, not an inline script, so the page's CSP can forbid those. */
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: root.dataset.schema, dom_id: "#swagger-ui", deepLinking: true });
})();
