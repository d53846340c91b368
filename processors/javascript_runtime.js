// The message API of the javascript processor (processors/javascript.py), evaluated in a fresh
// QuickJS context for every run of a script on a message.
//
// QuickJS refuses calls into Python while a time limit is set, so nothing here calls Python. The
// message's state (payload, metadata) comes in as JSON and the changes go back as JSON. What only
// Python can provide (an HTTP response, a parsed payload, a module's source) is asked for by
// recording the need and abandoning the run; Python provides it and runs the script again from the
// start in a new context, with the answers of earlier runs in `input`.
(function (global) {
  "use strict";

  var input = JSON.parse(global.__benthic_input);
  delete global.__benthic_input;

  var state = {
    body: null, // null: the payload as it came; {text: s} or {json: s} once the script set it
    meta: {}, // key -> {text, json} as the script set it
    logs: [],
    need: null,
    fetchIndex: 0,
  };
  var ABANDON = { toString: function () { return "benthic: run abandoned"; } };

  function need(what) {
    if (state.need === null) {
      state.need = what;
    }
    throw ABANDON;
  }

  // upstream checks each argument it was given: none may be undefined, and no more than expected
  function checkArgs(args, count) {
    if (args.length > count) {
      throw "have " + args.length + " arguments, but only " + count + " pointers to parse into";
    }
    for (var i = 0; i < args.length; i++) {
      if (args[i] === undefined) {
        throw "argument at position " + i + " is undefined";
      }
    }
  }

  function str(value) {
    return value === undefined ? "" : String(value);
  }

  // JSON as Go's encoder writes it: object keys sorted, <, > and & escaped
  function goJSON(value) {
    var text = JSON.stringify(value, function (key, v) {
      if (v && typeof v === "object" && !Array.isArray(v)) {
        var sorted = {};
        Object.keys(v).sort().forEach(function (k) { sorted[k] = v[k]; });
        return sorted;
      }
      return v;
    });
    if (text === undefined) {
      return "null";
    }
    return text
      .replace(/</g, "\\u003c")
      .replace(/>/g, "\\u003e")
      .replace(/&/g, "\\u0026")
      .replace(/\u2028/g, "\\u2028")
      .replace(/\u2029/g, "\\u2029");
  }

  // a metadata value as text, as upstream's MetaGet turns a value that is not a string into one
  function metaText(value) {
    if (typeof value === "string") {
      return value;
    }
    if (typeof value === "number" || typeof value === "boolean") {
      return String(value);
    }
    if (value === null || value === undefined) {
      return "null";
    }
    return goJSON(value);
  }

  function currentText() {
    if (state.body === null) {
      return input.content;
    }
    return state.body.text !== undefined ? state.body.text : state.body.json;
  }

  function parsed(text) {
    var known = input.parses;
    for (var i = 0; i < known.length; i++) {
      if (known[i][0] === text) {
        if (known[i][1]) {
          return JSON.parse(known[i][2]);
        }
        throw known[i][2];
      }
    }
    return need({ kind: "parse", text: text });
  }

  var benthos = {
    v0_msg_as_string: function () {
      checkArgs(arguments, 0);
      return currentText();
    },
    v0_msg_set_string: function (value) {
      checkArgs(arguments, 1);
      state.body = { text: str(value) };
    },
    v0_msg_as_structured: function () {
      checkArgs(arguments, 0);
      if (state.body !== null && state.body.json !== undefined) {
        return JSON.parse(state.body.json);
      }
      return parsed(currentText());
    },
    v0_msg_set_structured: function (value) {
      checkArgs(arguments, 1);
      state.body = { json: goJSON(value === undefined ? null : value) };
    },
    v0_msg_exists_meta: function (name) {
      checkArgs(arguments, 1);
      name = str(name);
      return Object.prototype.hasOwnProperty.call(state.meta, name) ||
        Object.prototype.hasOwnProperty.call(input.meta, name);
    },
    v0_msg_get_meta: function (name) {
      checkArgs(arguments, 1);
      name = str(name);
      if (Object.prototype.hasOwnProperty.call(state.meta, name)) {
        return state.meta[name].text;
      }
      if (Object.prototype.hasOwnProperty.call(input.meta, name)) {
        return input.meta[name];
      }
      throw "key not found";
    },
    v0_msg_set_meta: function (name, value) {
      checkArgs(arguments, 2);
      state.meta[str(name)] = { text: metaText(value), json: goJSON(value === undefined ? null : value) };
    },
    v0_fetch: function (url, headers, method, body) {
      checkArgs(arguments, 4);
      if (headers === undefined) {
        headers = {};
      }
      if (headers === null || typeof headers !== "object" || Array.isArray(headers)) {
        throw "could not parse " + String(headers) + " into headers: value is not of type map";
      }
      var sent = {};
      Object.keys(headers).forEach(function (k) {
        sent[k] = typeof headers[k] === "string" ? headers[k] : "";
      });
      var request = {
        url: str(url),
        headers: sent,
        method: method === undefined ? "GET" : String(method),
        body: body === undefined ? "" : String(body),
      };
      var index = state.fetchIndex++;
      var done = input.fetches[index];
      if (done === undefined || JSON.stringify(done.request) !== JSON.stringify(request)) {
        return need({ kind: "fetch", index: index, request: request });
      }
      if (done.error !== undefined) {
        throw done.error;
      }
      return { status: done.status, body: done.body };
    },
  };
  global.benthos = benthos;

  // util.format of goja_nodejs: %s, %d, %j and %% take arguments, the rest are appended
  function format() {
    var args = Array.prototype.slice.call(arguments);
    var pattern = args.length > 0 && args[0] !== undefined ? String(args[0]) : "";
    var rest = args.slice(1);
    var out = "";
    var used = 0;
    for (var i = 0; i < pattern.length; i++) {
      var ch = pattern.charAt(i);
      if (ch !== "%" || i + 1 >= pattern.length) {
        out += ch;
        continue;
      }
      var verb = pattern.charAt(++i);
      if (used >= rest.length) {
        out += "%" + verb;
      } else if (verb === "s") {
        out += String(rest[used++]);
      } else if (verb === "d") {
        out += String(Number(rest[used++]));
      } else if (verb === "j") {
        out += JSON.stringify(rest[used++]);
      } else if (verb === "%") {
        out += "%";
      } else {
        out += "%" + verb;
      }
    }
    for (; used < rest.length; used++) {
      out += " " + String(rest[used]);
    }
    return out;
  }

  function logger(level) {
    return function () {
      state.logs.push([level, format.apply(null, arguments)]);
    };
  }
  var consoleModule = {
    log: logger("info"),
    info: logger("info"),
    debug: logger("info"),
    warn: logger("warn"),
    error: logger("error"),
  };
  var utilModule = { format: format };
  global.console = consoleModule;

  // require(): Node's resolution, done in Python; each module sees a require bound to its folder
  var builtins = { console: consoleModule, util: utilModule };
  var loaded = {};

  function goError(message) {
    var err = new Error(message);
    err.name = "GoError";
    err.framesToSkip = 2; // this function and require()
    return err;
  }

  function requireFrom(folder) {
    return function require(name) {
      name = str(name);
      var bare = name.indexOf("node:") === 0 ? name.slice(5) : name;
      if (Object.prototype.hasOwnProperty.call(builtins, bare)) {
        return builtins[bare];
      }
      if (name.indexOf("node:") === 0) {
        throw goError("No such built-in module");
      }
      var key = folder + "\u0000" + name;
      if (!Object.prototype.hasOwnProperty.call(input.resolved, key)) {
        return need({ kind: "require", folder: folder, name: name });
      }
      var path = input.resolved[key];
      if (path === null) {
        throw goError("Invalid module");
      }
      if (Object.prototype.hasOwnProperty.call(loaded, path)) {
        return loaded[path].exports;
      }
      var module = { exports: {} };
      loaded[path] = module;
      var source = global["__benthic_module_" + input.modules[path].slot];
      try {
        if (input.modules[path].json) {
          module.exports = JSON.parse(source);
        } else {
          var wrapper = (0, eval)(
            "(function(exports,require,module,__filename,__dirname){" + source + "\n})"
          );
          var dir = input.modules[path].dir;
          wrapper.call(module.exports, module.exports, requireFrom(dir), module, path, dir);
        }
      } catch (err) {
        delete loaded[path];
        throw err;
      }
      return module.exports;
    };
  }
  global.require = requireFrom(input.folder);

  // where a thrown error came from: the first frame of the script, as "file:line:col"
  function location(err) {
    if (!err || typeof err.stack !== "string") {
      return "";
    }
    var frames = err.stack.split("\n");
    for (var i = err.framesToSkip || 0; i < frames.length; i++) {
      var frame = frames[i].trim();
      if (frame === "at eval (native)") {
        break;
      }
      var m = /^at (.*?) ?\(?<input>:(\d+):(\d+)\)?$/.exec(frame);
      if (m) {
        var where = input.filename + ":" + m[2] + ":" + m[3];
        var fn = m[1];
        return fn && fn !== "<anonymous>" && fn !== "<eval>" ? " at " + fn + " (" + where + ")" : " at " + where;
      }
    }
    return "";
  }

  global.__benthic_run = function () {
    var source = global.__benthic_source;
    var error = null;
    var outOfMemory = false;
    try {
      (0, eval)(source);
    } catch (err) {
      // QuickJS throws null when it cannot even allocate the "out of memory" error
      outOfMemory = err === null || (err instanceof InternalError && err.message === "out of memory");
      error = err === ABANDON ? "" : String(err) + location(err);
    }
    var meta = {};
    Object.keys(state.meta).forEach(function (k) { meta[k] = state.meta[k].json; });
    return JSON.stringify({
      need: state.need,
      error: error,
      outOfMemory: outOfMemory,
      body: state.body,
      meta: meta,
      logs: state.logs,
    });
  };
})(globalThis);
