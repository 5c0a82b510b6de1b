// Choosing a zone reloads the page with that zone's tables (its latest year first); choosing a
// period shows it. Without JavaScript the "Show" button does the same.
document.addEventListener("DOMContentLoaded", function () {
  var zone = document.getElementById("zone-choice");
  var period = document.getElementById("period-choice");
  if (!zone || !period) return;
  zone.addEventListener("change", function () {
    period.disabled = true; // not sent: the server opens the new zone's default table
    zone.form.submit();
  });
  period.addEventListener("change", function () { period.form.submit(); });
});
