// kb serve: "/" (or Ctrl+K) puts the cursor in the search box; Ctrl+Enter in it searches.
// The pages work without this file.
document.addEventListener("keydown", function (e) {
  var box = document.getElementById("q");
  if (!box) return;
  var typing = document.activeElement && /^(TEXTAREA|INPUT)$/.test(document.activeElement.tagName);
  if ((e.key === "/" && !typing) || (e.key === "k" && (e.ctrlKey || e.metaKey))) {
    e.preventDefault();
    box.focus();
    box.select();
  } else if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && document.activeElement === box) {
    e.preventDefault();
    box.form.submit();
  }
});
