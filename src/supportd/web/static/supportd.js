// supportd web pages: small enhancements only; every page works without this file.
"use strict";

// Create case: the Category list shows only the categories of the chosen Service.
// Without JavaScript it shows every service's categories, grouped by service.
function linkCategories(service) {
  var category = document.getElementById(service.getAttribute("data-category-select"));
  if (!category) {
    return;
  }
  function update() {
    var chosen = service.value;
    var groups = category.querySelectorAll("optgroup");
    for (var i = 0; i < groups.length; i++) {
      var match = !chosen || groups[i].getAttribute("data-service") === chosen;
      groups[i].hidden = !match;
      groups[i].disabled = !match;
    }
    var selected = category.options[category.selectedIndex];
    if (selected && selected.parentNode.tagName === "OPTGROUP" && selected.parentNode.disabled) {
      category.value = "";
    }
  }
  service.addEventListener("change", update);
  update();
}

document.addEventListener("DOMContentLoaded", function () {
  var services = document.querySelectorAll("select[data-category-select]");
  for (var i = 0; i < services.length; i++) {
    linkCategories(services[i]);
  }
  // Move focus to an error summary, so keyboard and screen reader users hear it first.
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.setAttribute("tabindex", "-1");
    summary.focus();
  }
});
