/* Record in the browser (spectrograms page): a few seconds from the microphone,
 * turned into a mono 16-bit PCM WAV here in the page and handed to the WAV upload
 * box (its `contents`, as a data URL), so the server runs exactly the same
 * analysis and display as for an uploaded file.
 *
 * Raw samples come from a ScriptProcessor: unlike MediaRecorder (compressed
 * Opus/AAC whose decoding differs per browser) it gives PCM on every browser
 * including iOS Safari, and unlike an AudioWorklet it needs no module file.
 * The translated texts come from the button's data-* attributes. */
(function () {
  "use strict";

  var TARGET_RATE = 16000; // what the devices record; the server accepts 8-48 kHz
  var BUTTON_ID = "spectro-record";
  var STATUS_ID = "spectro-record-status";
  var UPLOAD_ID = "spectro-upload";
  var busy = false;
  var lastRecording = null; // what the last recording was, for the browser test

  function setProps(id, props) {
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(id, props);
    }
  }

  function say(button, key, kind, seconds) {
    var text = (button.getAttribute("data-msg-" + key) || key).replace("{seconds}", String(seconds));
    setProps(STATUS_ID, {children: text, className: "sc-record-status small mt-2 text-" + kind});
  }

  // Mono float samples in [-1, 1] -> a 44-byte-header PCM WAV.
  function encodeWav(samples, rate) {
    var buffer = new ArrayBuffer(44 + samples.length * 2);
    var view = new DataView(buffer);
    function text(offset, s) {
      for (var i = 0; i < s.length; i++) view.setUint8(offset + i, s.charCodeAt(i));
    }
    text(0, "RIFF");
    view.setUint32(4, 36 + samples.length * 2, true);
    text(8, "WAVE");
    text(12, "fmt ");
    view.setUint32(16, 16, true); // fmt chunk size
    view.setUint16(20, 1, true); // PCM
    view.setUint16(22, 1, true); // mono
    view.setUint32(24, rate, true);
    view.setUint32(28, rate * 2, true); // byte rate
    view.setUint16(32, 2, true); // block align
    view.setUint16(34, 16, true); // bits per sample
    text(36, "data");
    view.setUint32(40, samples.length * 2, true);
    for (var i = 0; i < samples.length; i++) {
      var s = Math.max(-1, Math.min(1, samples[i]));
      view.setInt16(44 + i * 2, s < 0 ? Math.round(s * 32768) : Math.round(s * 32767), true);
    }
    return buffer;
  }

  function toDataUrl(buffer) {
    var bytes = new Uint8Array(buffer);
    var chunks = [];
    for (var i = 0; i < bytes.length; i += 0x8000) {
      chunks.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000)));
    }
    return "data:audio/wav;base64," + window.btoa(chunks.join(""));
  }

  // Band-limited resampling by the browser itself; the native rate if that fails.
  function resample(samples, fromRate) {
    var Offline = window.OfflineAudioContext || window.webkitOfflineAudioContext;
    if (!Offline || fromRate === TARGET_RATE) {
      return Promise.resolve({samples: samples, rate: fromRate});
    }
    try {
      var frames = Math.round(samples.length * TARGET_RATE / fromRate);
      var offline = new Offline(1, frames, TARGET_RATE);
      var source = offline.createBufferSource();
      var input = offline.createBuffer(1, samples.length, fromRate);
      input.getChannelData(0).set(samples);
      source.buffer = input;
      source.connect(offline.destination);
      source.start(0);
      return offline.startRendering().then(function (rendered) {
        return {samples: rendered.getChannelData(0), rate: TARGET_RATE};
      }, function () {
        return {samples: samples, rate: fromRate};
      });
    } catch (err) {
      return Promise.resolve({samples: samples, rate: fromRate});
    }
  }

  function failureKey(err) {
    var name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
      return "denied";
    }
    if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
      return "nomic";
    }
    return "failed";
  }

  function stamp() {
    var d = new Date();
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return d.getFullYear() + two(d.getMonth() + 1) + two(d.getDate()) + "-" +
      two(d.getHours()) + two(d.getMinutes()) + two(d.getSeconds());
  }

  function record(button) {
    var seconds = parseInt(button.getAttribute("data-seconds"), 10) || 8;
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !Ctx) {
      say(button, "unsupported", "danger", seconds);
      return;
    }
    busy = true;
    setProps(BUTTON_ID, {disabled: true});
    // Created inside the tap: iOS only lets audio start from a user gesture.
    var ctx = new Ctx();
    var stream = null;
    var finish = function (key, kind) {
      busy = false;
      setProps(BUTTON_ID, {disabled: false});
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      if (ctx.state !== "closed") ctx.close();
      if (key) say(button, key, kind, seconds);
    };
    say(button, "asking", "secondary", seconds);
    navigator.mediaDevices.getUserMedia({
      audio: {channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false},
      video: false,
    }).then(function (s) {
      stream = s;
      return ctx.resume();
    }).then(function () {
      var rate = ctx.sampleRate;
      var wanted = Math.round(seconds * rate);
      var chunks = [];
      var collected = 0;
      var source = ctx.createMediaStreamSource(stream);
      var processor = ctx.createScriptProcessor(4096, 1, 1);
      var lastShown = -1;
      say(button, "recording", "danger", seconds);
      processor.onaudioprocess = function (ev) {
        if (collected >= wanted) return;
        var data = ev.inputBuffer.getChannelData(0); // the browser mixes stereo inputs down
        var take = Math.min(data.length, wanted - collected);
        chunks.push(new Float32Array(data.subarray(0, take)));
        collected += take;
        var left = Math.ceil((wanted - collected) / rate);
        if (left !== lastShown && collected < wanted) {
          lastShown = left;
          say(button, "recording", "danger", left);
        }
        if (collected < wanted) return;
        processor.disconnect();
        source.disconnect();
        var all = new Float32Array(collected);
        var at = 0;
        chunks.forEach(function (c) { all.set(c, at); at += c.length; });
        say(button, "encoding", "secondary", seconds);
        resample(all, rate).then(function (out) {
          var peak = 0;
          for (var k = 0; k < out.samples.length; k++) peak = Math.max(peak, Math.abs(out.samples[k]));
          lastRecording = {rate: out.rate, frames: out.samples.length, inputRate: rate, peak: peak};
          setProps(UPLOAD_ID, {contents: toDataUrl(encodeWav(out.samples, out.rate)),
                               filename: "recording-" + stamp() + ".wav"});
          finish("done", "success");
        });
      };
      source.connect(processor);
      processor.connect(ctx.destination); // Chrome runs a processor only when it is connected; it outputs silence
    }).catch(function (err) {
      finish(failureKey(err), "danger");
    });
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target && ev.target.closest ? ev.target.closest("#" + BUTTON_ID) : null;
    if (!button || busy) return;
    ev.preventDefault();
    record(button);
  });

  // For the browser test: the encoder and a summary of the last recording.
  window.signalcraftRecorder = {
    encodeWav: encodeWav,
    last: function () { return lastRecording; },
  };
})();
