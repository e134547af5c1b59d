// The counter's small behaviours, kept out of the pages so the content security policy can
// forbid inline scripts: a select marked data-autosubmit submits its form when changed.
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) {
    event.target.form.submit();
  }
});
