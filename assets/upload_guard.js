// Uploads larger than the limit never reach the server (dcc.Upload's max_size drops them silently):
// say so, visibly, next to the drop zone.
(function () {
  function check(files, target) {
    var wrap = target && target.closest ? target.closest('[data-max-bytes]') : null;
    if (!wrap || !files || !files.length) { return; }
    var max = parseInt(wrap.getAttribute('data-max-bytes'), 10);
    var msg = document.getElementById('upload-size-message');
    if (!msg) { return; }
    var f = files[0];
    if (f.size > max) {
      msg.textContent = 'REJECTED: ' + f.name + ' is ' + (f.size / 1048576).toFixed(1) +
        ' MB; the limit is ' + (max / 1048576).toFixed(0) + ' MB. Nothing was uploaded; the plan is unchanged.';
      msg.hidden = false;
    } else {
      msg.textContent = '';
      msg.hidden = true;
    }
  }
  document.addEventListener('change', function (e) {
    if (e.target && e.target.type === 'file') { check(e.target.files, e.target); }
  }, true);
  document.addEventListener('drop', function (e) {
    if (e.dataTransfer) { check(e.dataTransfer.files, e.target); }
  }, true);
})();
