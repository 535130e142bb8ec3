// supportd Support Center: files larger than a form may carry (the attachment-set
// limit, 5 MB) go through the API's large-upload links before the form is sent. For
// each such file the script asks the Support Center for the upload's part links (a
// same-origin post with the form's CSRF token), PUTs each part, completes the upload,
// waits until supportd has assembled it, and then sends the form with the file left
// out and its upload named in a hidden upload_ids field. Without this script such a
// file comes back with a field error.
"use strict";

function largeUploads(input) {
  var form = input.form;
  var endpoint = input.getAttribute("data-large-upload");
  var maxFiles = parseInt(input.getAttribute("data-max-files"), 10);
  var smallBytes = parseInt(input.getAttribute("data-small-bytes"), 10);
  var largeBytes = parseInt(input.getAttribute("data-large-bytes"), 10);
  var status = document.getElementById(input.id + "-status");
  var token = form.querySelector("input[name=csrf_token]").value;
  var busy = false;

  function say(text) {
    status.textContent = text;
  }

  function megabytes(bytes) {
    return Math.round((bytes / 1048576) * 10) / 10 + " MB";
  }

  // A post to the Support Center: its JSON answer, or an Error with its message.
  function ask(url, fields) {
    var body = new URLSearchParams();
    body.append("csrf_token", token);
    for (var i = 0; i < fields.length; i++) {
      body.append(fields[i][0], fields[i][1]);
    }
    return answer(fetch(url, { method: "POST", body: body, credentials: "same-origin" }));
  }

  function answer(request) {
    return request.then(function (response) {
      // Not JSON: the session ended (the sign-in page) or a page refused the post.
      return response.json().catch(function () {
        return { message: "The upload could not go on: your session may have ended. Reload the page and try again.", page: true };
      }).then(function (data) {
        if (!response.ok || data.page) {
          throw new Error(data.message || "The upload failed.");
        }
        return data;
      });
    });
  }

  function putPart(file, link, partBytes) {
    var start = (link.partIndex - 1) * partBytes;
    var part = file.slice(start, Math.min(file.size, start + partBytes));
    return fetch(link.url, { method: "PUT", body: part }).then(function (response) {
      if (!response.ok) {
        throw new Error("Part " + link.partIndex + " of " + file.name + " could not be sent (" + response.status + ").");
      }
      return response.headers.get("ETag");
    });
  }

  function waitReady(uploadId, name) {
    return answer(fetch(endpoint + "/" + encodeURIComponent(uploadId), { credentials: "same-origin" }))
      .then(function (found) {
        if (found.uploadStatus === "attachment-ready") {
          return uploadId;
        }
        if (found.uploadStatus === "failed") {
          throw new Error(name + " could not be processed. Try again.");
        }
        return new Promise(function (resolve) { setTimeout(resolve, 500); }).then(function () {
          return waitReady(uploadId, name);
        });
      });
  }

  // One large file: its upload id once supportd holds it, ready to attach.
  function send(file) {
    var etags = [];
    var uploadId = null;
    var partBytes = 0;
    function batch(found) {
      uploadId = found.uploadId;
      partBytes = found.partSizeBytes;
      var chain = Promise.resolve();
      found.uploadUrls.forEach(function (link) {
        chain = chain.then(function () {
          say("Uploading " + file.name + ": part " + link.partIndex + " of " + found.totalParts + "…");
          return putPart(file, link, partBytes).then(function (etag) { etags.push(etag); });
        });
      });
      return chain.then(function () {
        if (found.nextIndex) {
          return ask(endpoint, [["upload_id", uploadId], ["file_name", file.name], ["start", found.nextIndex]]).then(batch);
        }
        return null;
      });
    }
    return ask(endpoint, [["file_name", file.name], ["size", file.size]])
      .then(batch)
      .then(function () {
        say("Processing " + file.name + "…");
        var fields = etags.map(function (etag) { return ["etag", etag]; });
        return ask(endpoint + "/" + encodeURIComponent(uploadId) + "/complete", fields);
      })
      .then(function () { return waitReady(uploadId, file.name); });
  }

  form.addEventListener("submit", function (event) {
    var files = Array.prototype.slice.call(input.files || []);
    var large = files.filter(function (f) { return f.size > smallBytes; });
    if (busy) {
      event.preventDefault();
      return;
    }
    if (!large.length) {
      return;
    }
    event.preventDefault();
    // Large files uploaded before the form last came back are named in it already.
    if (files.length + form.querySelectorAll("input[name=upload_ids]").length > maxFiles) {
      say("Choose at most " + maxFiles + " files.");
      return;
    }
    var tooLarge = large.filter(function (f) { return f.size > largeBytes; });
    if (tooLarge.length) {
      say(tooLarge[0].name + " is larger than " + megabytes(largeBytes) + ", the most a file may have. Attach a smaller file.");
      return;
    }
    busy = true;
    var chain = Promise.resolve();
    var ids = [];
    large.forEach(function (file) {
      chain = chain.then(function () { return send(file); }).then(function (id) { ids.push(id); });
    });
    chain.then(function () {
      // The form carries the small files itself; the large ones are named by upload.
      var kept = new DataTransfer();
      files.forEach(function (f) {
        if (f.size <= smallBytes) {
          kept.items.add(f);
        }
      });
      input.files = kept.files;
      ids.forEach(function (id) {
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = "upload_ids";
        hidden.value = id;
        form.appendChild(hidden);
      });
      say("Uploaded. Sending the form…");
      form.submit();
    }).catch(function (error) {
      busy = false;
      say(error.message);
    });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  var inputs = document.querySelectorAll("input[type=file][data-large-upload]");
  for (var i = 0; i < inputs.length; i++) {
    largeUploads(inputs[i]);
  }
});
