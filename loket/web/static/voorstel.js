// The triage form proposes the house that serves the melding's gemeente; choosing another shows
// the warning (and its "bewust" checkbox) at once. Without this script the server asks instead.
document.querySelectorAll("select.huiskeuze[data-voorgesteld]").forEach(function (select) {
  var voorgesteld = select.dataset.voorgesteld;
  var waarschuwing = document.getElementById(select.dataset.waarschuwing);
  if (!voorgesteld || !waarschuwing) { return; }
  var tekst = waarschuwing.querySelector(".waarschuwing-tekst");
  var naamVan = function (zvh) {
    var optie = select.querySelector('option[value="' + zvh + '"]');
    return optie ? optie.textContent : zvh;
  };
  select.addEventListener("change", function () {
    var ander = select.value !== voorgesteld;
    waarschuwing.hidden = !ander;
    if (ander) {
      tekst.textContent = "Let op: " + naamVan(select.value) + " bedient " + select.dataset.gemeente +
        " niet; dat doet " + naamVan(voorgesteld) + ".";
    }
  });
});
