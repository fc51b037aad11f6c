/*
 * fieldroute map page: fills the layers folium declared from the page's JSON
 * (the same JSON GET /map/data returns) and runs the dispatcher's actions
 * against the JSON API.
 *
 * Why plain JavaScript and no framework: the page is one map and one panel;
 * every HTML string it inserts was built and escaped by the server
 * (maps/popups.py, maps/panel.py); anything built here from API answers uses
 * textContent. Requests are same-origin, carry the session cookie and the
 * X-Requested-With header the API asks of cookie-authenticated writes.
 */
(function () {
  "use strict";

  var RINGS = {
    open: { color: "#111111", weight: 2 },
    held: { color: "#777777", weight: 2, dashArray: "2 3" },
    planned: { color: "#ffffff", weight: 1.5 },
    active: { color: "#6f42c1", weight: 3 },
    done: { color: "#2ca02c", weight: 2 },
    cancelled: { color: "#999999", weight: 1, dashArray: "2 3" }
  };

  var S = null; // the page's state, set by mount()

  function byId(id) { return document.getElementById(id); }

  function toLatLng(coords) { return L.latLng(coords[1], coords[0]); } // GeoJSON is [lon, lat]

  function status(text, kind) {
    var el = byId("fr-status");
    if (!el) { return; }
    el.textContent = text || "";
    el.className = "fr-status" + (kind ? " fr-status-" + kind : "");
  }

  // A route stop drawn on a canvas with its number: thousands of numbered DOM
  // icons took seconds to lay out; a canvas draws them in milliseconds and still
  // answers clicks. Zoomed out (below 13) a stop is a small dot without number.
  // Uses Leaflet 1.9's canvas internals (_renderer._ctx, _point), pinned by the vendoring.
  // Built on first use: this file loads before Leaflet (folium puts its links last).
  var NumberedStop = null;
  function numberedStopClass() {
    NumberedStop = NumberedStop || L.CircleMarker.extend({
    _project: function () {
      this._radius = this._map.getZoom() >= 13 ? 9 : 4;
      L.CircleMarker.prototype._project.call(this);
    },
    _updatePath: function () {
      var r = this._renderer;
      r._updateCircle(this);
      if (this._radius < 9 || this._empty() || !r._ctx) { return; }
      var ctx = r._ctx;
      ctx.fillStyle = "#ffffff";
      ctx.font = "bold 10px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(String(this.options.seq), this._point.x, this._point.y + 0.5);
    }
    });
    return NumberedStop;
  }

  var ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function esc(value) {
    return String(value === undefined || value === null ? "" : value).replace(/[&<>"']/g,
      function (c) { return ESC[c]; });
  }

  // A popup is a title and a two-column table; every value goes through esc().
  function popup(title, rows, extra, dataAttr) {
    var body = rows.filter(function (r) { return r[1] !== "" && r[1] !== undefined && r[1] !== null; })
      .map(function (r) {
        return "<tr><th>" + esc(r[0]) + "</th><td" + (r[2] ? ' class="' + r[2] + '"' : "") + ">" +
          esc(r[1]) + "</td></tr>";
      }).join("");
    return '<div class="fr-popup"' + (dataAttr || "") + "><h6>" + esc(title) + "</h6>" +
      '<table class="fr-popup-table">' + body + "</table>" + (extra || "") + "</div>";
  }

  function engineerName(id) {
    var e = S.engineers[id];
    return e ? e.name : "";
  }

  function ticketPopup(p) {
    var rows = [
      ["Customer", p.customer],
      ["Address", p.address || "–"],
      ["Priority", p.priority, "fr-prio-" + p.priority],
      ["Status", p.status_label],
      ["Window", p.window],
      ["SLA due", p.sla || "none"],
      ["Duration", p.duration + " min"],
      ["Skills", p.skills],
      ["Territory", p.territory || "outside every fence", p.territory ? "" : "fr-outside"],
      ["Engineer", p.engineer_id ? engineerName(p.engineer_id) : ""],
      ["ETA", p.eta],
      ["Planned", p.planned]
    ];
    if (p.unassigned) {
      rows.push(["Unassigned", p.reason_label + (p.reason_message ? " — " + p.reason_message : ""),
        "fr-reason"]);
    }
    var buttons = "";
    if (p.open && S.options.mode === "dispatch") {
      buttons = '<div class="fr-popup-actions"><button type="button" class="btn btn-sm btn-primary" ' +
        'data-fr-action="candidates" data-ticket="' + Number(p.id) + '">Find engineer</button></div>';
    }
    return popup("#" + p.id + " " + p.title, rows, buttons, ' data-ticket="' + Number(p.id) + '"');
  }

  function stopPopup(p) {
    var t = S.ticketData[p.ticket_id] || {};
    return popup("Stop " + p.seq + " · #" + p.ticket_id + " " + (t.title || ""), [
      ["ETA", p.eta],
      ["Work", p.work],
      ["Window", t.window],
      ["Customer", t.customer],
      ["Address", t.address || "–"],
      ["Priority", t.priority, "fr-prio-" + t.priority],
      ["SLA due", t.sla || "none"],
      ["Waits", p.wait_min ? p.wait_min + " min" : ""],
      ["Leg", p.leg_km + " km"],
      ["Engineer", engineerName(p.engineer_id)]
    ], "", ' data-ticket="' + Number(p.ticket_id) + '"');
  }

  function engineerPopup(p) {
    var link = p.sheet ? '<p><a href="' + esc(p.sheet) + '">Day sheet</a></p>' : "";
    return popup(p.name, [
      ["Status", p.status_label],
      ["Shown at", p.home ? "home (no position yet)" : "last position"],
      ["Seen", p.seen],
      ["Shift", p.shift || "none"],
      ["Skills", p.skills],
      ["Territories", p.territories],
      ["Route", p.route]
    ], link, ' data-engineer="' + Number(p.id) + '"');
  }

  function ticketStyle(p, canvas) {
    var ring = RINGS[p.ring] || RINGS.open;
    var style = {
      radius: p.priority === "urgent" ? 8 : 6,
      fillColor: p.colour,
      fillOpacity: p.ring === "done" || p.ring === "cancelled" ? 0.35 : 0.9,
      color: ring.color,
      weight: ring.weight,
      dashArray: ring.dashArray || null,
      className: "fr-ticket fr-ticket-" + p.ring
    };
    if (canvas) { style.renderer = S.canvas; }
    return style;
  }

  function clearGroup(group) { if (group) { group.clearLayers(); } }

  // "auto": Leaflet.markercluster up to CANVAS_ABOVE tickets, canvas circles
  // beyond (bench/map_load.py: with 5,000 tickets the canvas is usable sooner).
  var CANVAS_ABOVE = 2000;

  function ticketMode(count) {
    if (S.ticketMode) { return S.ticketMode; }
    var mode = S.options.tickets;
    if (mode === "auto") { mode = count > CANVAS_ABOVE ? "canvas" : "cluster"; }
    var layer = S.layers.tickets;
    if (mode === "canvas" && layer && layer.addLayers) {
      // The cluster group folium made gives way to a plain group, same place in the control.
      var plain = L.featureGroup();
      if (S.control) {
        var entry = S.control._getLayer(L.stamp(layer));
        if (entry) { layer.off("add remove", S.control._onLayerChange, S.control); entry.layer = plain; }
        plain.on("add remove", S.control._onLayerChange, S.control);
      }
      if (S.map.hasLayer(layer)) { S.map.removeLayer(layer); plain.addTo(S.map); }
      S.layers.tickets = plain;
    }
    S.ticketMode = mode;
    return mode;
  }

  function drawTickets(fc) {
    var canvas = ticketMode(fc.features.length) === "canvas";
    var markers = [];
    S.tickets = {};
    S.ticketData = {};
    clearGroup(S.layers.tickets);
    clearGroup(S.layers.unassigned);
    clearGroup(S.layers.outside);
    fc.features.forEach(function (f) {
      var p = f.properties;
      var at = toLatLng(f.geometry.coordinates);
      S.ticketData[p.id] = p;
      var content = function () { return ticketPopup(p); };
      var m = L.circleMarker(at, ticketStyle(p, canvas)).bindPopup(content, { maxWidth: 340 });
      m.frTicket = p.id;
      markers.push(m);
      S.tickets[p.id] = m;
      if (p.unassigned && S.layers.unassigned) {
        var u = L.circleMarker(at, {
          radius: 10, color: p.colour, weight: 2.5, dashArray: "4 2", fill: true, fillOpacity: 0.12,
          className: "fr-unassigned-marker"
        }).bindPopup(content, { maxWidth: 340 });
        u.frTicket = p.id;
        S.layers.unassigned.addLayer(u);
        S.tickets[p.id] = u;
      }
      if (p.outside && S.layers.outside) {
        S.layers.outside.addLayer(L.circleMarker(at, {
          radius: 15, color: "#e00000", weight: 2, dashArray: "4 3", fill: false,
          interactive: false, className: "fr-outside-marker"
        }));
      }
    });
    if (S.layers.tickets.addLayers) {
      S.layers.tickets.addLayers(markers); // markercluster: one bulk insert
    } else {
      markers.forEach(function (m) { S.layers.tickets.addLayer(m); });
    }
  }

  function drawEngineers(fc) {
    clearGroup(S.layers.engineers);
    S.engineers = {};
    fc.features.forEach(function (f) {
      var p = f.properties;
      var icon = L.AwesomeMarkers.icon({
        icon: p.icon, prefix: "fa", markerColor: p.marker, iconColor: p.colour,
        extraClasses: "fr-engineer-glyph"
      });
      var m = L.marker(toLatLng(f.geometry.coordinates), {
        icon: icon, title: p.name, riseOnHover: true, zIndexOffset: 500
      }).bindPopup(function () { return engineerPopup(p); }, { maxWidth: 340 });
      m.on("add", function () {
        var el = m.getElement();
        if (el) { el.classList.add("fr-engineer", "fr-engineer-" + p.status); el.dataset.engineer = p.id; }
      });
      S.layers.engineers.addLayer(m);
      S.engineers[p.id] = { marker: m, name: p.name, colour: p.colour };
    });
  }

  // One layer per engineer's route, listed in the layer control so each can be
  // switched off; created on first sight, kept (and relabelled) on redraws.
  // addOverlay() rebuilds the whole control each time (O(n²) for 250 routes), so
  // entries are added with the control's _addLayer and drawn once by _update()
  // in drawRoutes (Leaflet 1.9 internals, pinned by the vendoring).
  function routeGroup(engineerId, label) {
    var key = String(engineerId);
    var group = S.routes[key];
    if (!group) {
      group = S.routes[key] = L.featureGroup().addTo(S.map);
    }
    if (S.control && label && S.routeLabels[key] !== label) {
      // The layer control writes names as HTML: callers pass escaped labels.
      var entry = S.control._getLayer(L.stamp(group));
      if (entry) { entry.name = label; } else { S.control._addLayer(group, label, true); }
      S.routeLabels[key] = label;
      S.controlDirty = true;
    }
    return group;
  }

  function drawRoutes(routes, stops) {
    Object.keys(S.routes).forEach(function (k) { S.routes[k].clearLayers(); });
    routes.features.slice().sort(function (a, b) {
      return a.properties.name.localeCompare(b.properties.name);
    }).forEach(function (f) {
      var p = f.properties;
      var g = routeGroup(p.engineer_id, "Route · " + esc(p.name) + " (" + Number(p.stops) + ")");
      L.polyline(f.geometry.coordinates.map(toLatLng), {
        color: p.colour, weight: 3, opacity: 0.85, className: "fr-route fr-route-e" + p.engineer_id
      }).bindTooltip(p.name + " · " + p.stops + " stops · " + p.km + " km · " + p.start + "–" + p.end,
        { sticky: true }).addTo(g);
    });
    stops.features.forEach(function (f) {
      var p = f.properties;
      var g = S.routes[String(p.engineer_id)] || routeGroup(p.engineer_id, "");
      var Stop = numberedStopClass();
      new Stop(toLatLng(f.geometry.coordinates), {
        renderer: S.stopCanvas,
        seq: Number(p.seq),
        color: "#ffffff",
        weight: 1,
        fillColor: p.colour,
        fillOpacity: 1,
        className: "fr-stop fr-stop-e" + Number(p.engineer_id)
      }).bindPopup(function () { return stopPopup(p); }, { maxWidth: 340 }).addTo(g);
    });
    if (S.controlDirty && S.control && S.control._map) {
      S.control._update();
      S.controlDirty = false;
    }
  }

  function drawPanel(data) {
    var html = data.html || {};
    var count = byId("fr-unassigned-count");
    if (count && data.unassigned) { count.textContent = String(data.unassigned.length); }
    ["summary", "unassigned", "kpis", "leaderboard"].forEach(function (key) {
      var el = byId("fr-" + key);
      if (el && html[key] !== undefined) { el.innerHTML = html[key]; }
    });
  }

  function draw(data) {
    // Marks let bench/map_load.py say where the time goes.
    S.data = data;
    performance.mark("fr-draw-start");
    drawEngineers(data.engineers);
    performance.mark("fr-engineers");
    drawTickets(data.tickets);
    performance.mark("fr-tickets");
    drawRoutes(data.routes, data.stops);
    performance.mark("fr-routes");
    drawPanel(data);
    relabel(data);
    performance.mark("fr-panel");
  }

  // --- the JSON API ----------------------------------------------------------
  function call(method, url, body) {
    var opts = {
      method: method,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-Requested-With": "fieldroute" }
    };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      if (r.status === 401 && S.options.links.login) {
        window.location.assign(S.options.links.login + "?next=" +
          encodeURIComponent(window.location.pathname + window.location.search));
        throw new Error("your session has expired: log in again");
      }
      return r.text().then(function (text) {
        var json = null;
        try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
        if (!r.ok) {
          var msg = json && (json.detail || json.title);
          if (typeof msg !== "string") { msg = msg ? JSON.stringify(msg) : "HTTP " + r.status; }
          if (r.status === 404 && msg === "Not Found") { msg = "this server has no " + url + " yet"; }
          throw new Error(msg);
        }
        return json;
      });
    });
  }

  // Another day than today: the actions act as of that day's start (the API's "at").
  function withAt(body) {
    if (S.options.at) { body.at = S.options.at; }
    return body;
  }

  function refresh() {
    var url = S.options.links.data + "?date=" + encodeURIComponent(S.options.day);
    return call("GET", url).then(draw);
  }

  function pick(o, names) {
    for (var i = 0; i < names.length; i++) {
      if (o && o[names[i]] !== undefined && o[names[i]] !== null) { return o[names[i]]; }
    }
    return undefined;
  }

  function clockOf(value) {
    if (value === undefined) { return "–"; }
    if (typeof value === "string" && /^\d{2}:\d{2}$/.test(value)) { return value; }
    var d = new Date(value);
    if (isNaN(d.getTime())) { return String(value); }
    return new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: S.options.tz }).format(d);
  }

  function candidateRows(answer) {
    var list = Array.isArray(answer) ? answer :
      (answer && (answer.candidates || answer.data || answer.items)) || [];
    return list.map(function (c) {
      var eng = c.engineer || {};
      var id = pick(c, ["engineer_id"]);
      if (id === undefined) { id = pick(eng, ["id"]); }
      var km = pick(c, ["added_km"]);
      if (km === undefined) {
        var m = pick(c, ["added_m", "added_metres", "added_distance_m", "added_meters"]);
        km = m === undefined ? undefined : m / 1000;
      }
      var min = pick(c, ["added_minutes", "added_min"]);
      if (min === undefined) {
        var s = pick(c, ["added_s", "added_seconds", "added_duration_s", "added_time_s"]);
        min = s === undefined ? undefined : s / 60;
      }
      var delays = pick(c, ["delays", "delayed_stops", "delayed"]);
      return {
        id: id,
        name: pick(c, ["engineer_name", "name"]) || pick(eng, ["name"]) ||
          ((S.engineers[id] || {}).name) || ("engineer " + id),
        eta: clockOf(pick(c, ["eta", "arrival", "arrival_at", "eta_at"])),
        km: km,
        min: min,
        delays: Array.isArray(delays) ? delays.length : (delays || 0),
        position: pick(c, ["position", "insert_position", "index"])
      };
    });
  }

  function showCandidates(ticketId, answer) {
    var box = byId("fr-candidates");
    if (!box) { return; }
    box.hidden = false;
    box.textContent = "";
    var h = document.createElement("h2");
    var t = S.tickets[ticketId];
    h.textContent = "Candidates for ticket #" + ticketId;
    box.appendChild(h);
    var rows = candidateRows(answer);
    if (!rows.length) {
      var p = document.createElement("p");
      p.className = "fr-empty";
      p.textContent = "No engineer can take this ticket.";
      box.appendChild(p);
      return;
    }
    var ol = document.createElement("ol");
    ol.className = "fr-candidate-list";
    rows.forEach(function (c) {
      var li = document.createElement("li");
      li.className = "fr-candidate";
      li.dataset.engineer = c.id;
      var name = document.createElement("b");
      name.textContent = c.name;
      var facts = document.createElement("span");
      facts.textContent = " ETA " + c.eta +
        (c.km === undefined ? "" : " · +" + Number(c.km).toFixed(1) + " km") +
        (c.min === undefined ? "" : " · +" + Math.round(c.min) + " min") +
        (c.delays ? " · delays " + c.delays + " stop(s)" : "");
      var btn = document.createElement("button");
      btn.type = "button";
      btn.className = "btn btn-sm btn-success";
      btn.textContent = "Assign";
      btn.dataset.frAction = "assign";
      btn.dataset.ticket = ticketId;
      btn.dataset.engineer = c.id;
      if (c.position !== undefined) { btn.dataset.position = c.position; }
      li.appendChild(name);
      li.appendChild(facts);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(btn);
      ol.appendChild(li);
    });
    box.appendChild(ol);
    if (t && S.map.hasLayer(t)) { t.openPopup(); }
  }

  function findEngineer(ticketId) {
    status("Looking for engineers for ticket #" + ticketId + "…");
    return call("POST", S.options.links.candidates, withAt({ ticket_id: ticketId, k: 5 }))
      .then(function (answer) { showCandidates(ticketId, answer); status(""); })
      .catch(function (e) { status(e.message, "error"); });
  }

  function showRoute(engineerId) {
    var g = S.routes[String(engineerId)];
    if (!g) { return; }
    if (!S.map.hasLayer(g)) { g.addTo(S.map); }
    var b = g.getBounds();
    if (b.isValid()) { S.map.fitBounds(b, { padding: [30, 30], maxZoom: 15 }); }
    g.eachLayer(function (l) {
      var el = l.getElement && l.getElement();
      if (el) { el.classList.add("fr-changed"); }
    });
  }

  function assign(ticketId, engineerId, position) {
    var body = withAt({ ticket_id: ticketId, engineer_id: engineerId });
    if (position !== undefined && position !== "") { body.position = Number(position); }
    status("Assigning ticket #" + ticketId + "…");
    return call("POST", S.options.links.assign, body)
      .then(refresh)
      .then(function () {
        var name = (S.engineers[engineerId] || {}).name || ("engineer " + engineerId);
        status("Ticket #" + ticketId + " assigned to " + name + ".", "ok");
        var box = byId("fr-candidates");
        if (box) { box.hidden = true; }
        showRoute(engineerId);
        document.dispatchEvent(new CustomEvent("fieldroute:assigned",
          { detail: { ticket: ticketId, engineer: engineerId } }));
      })
      .catch(function (e) { status(e.message, "error"); });
  }

  function reoptimize() {
    var sel = byId("fr-territory");
    if (!sel || !sel.value) { return Promise.resolve(); }
    var label = sel.options[sel.selectedIndex].text;
    status("Re-optimising " + label + "…");
    return call("POST", S.options.links.reoptimize, withAt({ territory_id: Number(sel.value) }))
      .then(refresh)
      .then(function () { status(label + " re-optimised.", "ok"); })
      .catch(function (e) { status(e.message, "error"); });
  }

  function focusTicket(ticketId) {
    var m = S.tickets[ticketId];
    if (!m) { return; }
    var cluster = S.layers.tickets;
    if (cluster.zoomToShowLayer && cluster.hasLayer(m)) {
      cluster.zoomToShowLayer(m, function () { m.openPopup(); });
    } else {
      S.map.setView(m.getLatLng(), Math.max(S.map.getZoom(), 15));
      m.openPopup();
    }
  }

  function onClick(event) {
    var el = event.target.closest ? event.target.closest("[data-fr-action]") : null;
    if (!el || !S) { return; }
    event.preventDefault();
    var action = el.dataset.frAction;
    var ticket = Number(el.dataset.ticket);
    if (action === "candidates") { findEngineer(ticket); }
    else if (action === "assign") { assign(ticket, Number(el.dataset.engineer), el.dataset.position); }
    else if (action === "reoptimize") { reoptimize(); }
    else if (action === "focus") { focusTicket(ticket); }
  }

  // The layer names folium wrote carry no counts (the page is rendered before
  // the data is read); they get them here, and again after every redraw.
  var LAYER_NAMES = {
    engineers: "Engineers", tickets: "Tickets", unassigned: "Unassigned",
    outside: "Outside every fence"
  };

  function relabel(data) {
    var counts = {
      engineers: data.engineers.features.length,
      tickets: data.tickets.features.length,
      unassigned: (data.unassigned || []).length,
      outside: data.tickets.features.filter(function (f) { return f.properties.outside; }).length
    };
    var outside = byId("fr-outside-count");
    if (outside) { outside.textContent = String(counts.outside); }
    if (!S.control || !S.control._getLayer) { return; }
    Object.keys(LAYER_NAMES).forEach(function (key) {
      var layer = S.layers[key];
      var entry = layer && S.control._getLayer(L.stamp(layer));
      if (entry) { entry.name = LAYER_NAMES[key] + " (" + counts[key] + ")"; }
    });
    if (S.control._map) { S.control._update(); }
  }

  // The page's data: inline (day sheet, self-contained files) or the request the
  // page's first script sent (window.fieldrouteData), else a request now.
  function initialData() {
    var inline = byId("fr-data");
    if (S.options.embedded && inline) { return Promise.resolve(JSON.parse(inline.textContent)); }
    var early = window.fieldrouteData;
    window.fieldrouteData = null;
    if (!early) { return call("GET", S.options.links.data + "?date=" + encodeURIComponent(S.options.day)); }
    return early.then(function (r) {
      if (r.status === 401) { return call("GET", S.options.links.data + "?date=" + encodeURIComponent(S.options.day)); }
      if (!r.ok) { throw new Error("the map data could not be loaded (HTTP " + r.status + ")"); }
      return r.json();
    });
  }

  function mount(opts) {
    performance.mark("fr-mount");
    S = {
      map: opts.map,
      control: opts.control,
      layers: opts.layers,
      routes: opts.routes || {},
      routeLabels: {},
      options: opts.options,
      canvas: L.canvas({ padding: 0.5 }),
      stopCanvas: L.canvas({ padding: 0.5 }),
      tickets: {},
      ticketData: {},
      engineers: {}
    };
    document.addEventListener("click", onClick);
    return initialData().then(function (data) {
      performance.mark("fr-data");
      draw(data);
      status("");
      window.fieldrouteReady = performance.now();
      document.dispatchEvent(new CustomEvent("fieldroute:ready"));
    }).catch(function (e) { status(e.message, "error"); });
  }

  window.fieldroute = {
    mount: mount,
    refresh: function () { return refresh(); },
    state: function () { return S; }
  };
})();
