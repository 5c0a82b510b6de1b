// The table choice travels as two hidden fields (zone, period); without JavaScript the server
// also accepts the combined "table" value, so the form works either way.
document.addEventListener("DOMContentLoaded", function () {
  var select = document.getElementById("table");
  if (!select) return;
  function sync() {
    var parts = select.value.split("|");
    document.getElementById("sel-zone").value = parts[0];
    document.getElementById("sel-period").value = parts.slice(1).join("|");
  }
  select.addEventListener("change", function () { sync(); select.form.submit(); });
  sync();
});
