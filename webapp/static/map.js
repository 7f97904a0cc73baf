/* MINT-Suche map: progressive enhancement of the result list on /suche.
   Without JavaScript (or without Leaflet) the list is the whole page; with it, a map shows a
   marker for every result on the current page that has coordinates (data-lat/data-lon on the
   list items). Clicking a marker opens a popup linking to the offer; the list stays the
   source of truth ("the map follows the list"). No inline scripts (CSP script-src 'self'). */
(function () {
  "use strict";
  function start() {
    var box = document.getElementById("karte");
    if (!box || typeof L === "undefined") { return; }
    var items = document.querySelectorAll(".hits .hit[data-lat][data-lon]");
    var points = [];
    var area = document.getElementById("kartenbereich");
    if (area) { area.hidden = false; }
    var map = L.map(box, { scrollWheelZoom: false, zoomControl: false });
    L.control.zoom({ zoomInTitle: "Vergrößern", zoomOutTitle: "Verkleinern" }).addTo(map);
    L.tileLayer(box.dataset.tiles, {
      maxZoom: 18,
      attribution: box.dataset.attribution
    }).addTo(map);
    var located = [];
    items.forEach(function (item) {
      var lat = parseFloat(item.dataset.lat);
      var lon = parseFloat(item.dataset.lon);
      if (isFinite(lat) && isFinite(lon)) {
        located.push({ item: item, lat: lat, lon: lon });
        points.push([lat, lon]);
      }
    });
    if (box.dataset.centerLat) {
      points.push([parseFloat(box.dataset.centerLat), parseFloat(box.dataset.centerLon)]);
    }
    if (points.length) {
      map.fitBounds(points, { padding: [24, 24], maxZoom: 12 });
    } else {
      map.setView([51.16, 10.45], 5);  /* Germany */
    }
    located.forEach(function (entry) {
      var link = entry.item.querySelector("h3 a");
      var name = link ? link.textContent : "Angebot";
      var marker = L.marker([entry.lat, entry.lon], { title: name, alt: name, keyboard: true });
      if (link) {
        var a = document.createElement("a");
        a.href = link.getAttribute("href");
        a.textContent = name;
        marker.bindPopup(a);
      }
      marker.addTo(map);
    });
    box.dataset.markers = String(located.length);
    /* "the list follows the map": after the visitor moves the map, offer to search the
       visible area (centre + radius as ort/umkreis; a plain link, the list reloads). */
    var follow = document.createElement("a");
    follow.className = "map-follow";
    follow.hidden = true;
    follow.textContent = "In diesem Kartenausschnitt suchen";
    box.parentNode.insertBefore(follow, box.nextSibling);
    var ready = false;
    map.whenReady(function () { setTimeout(function () { ready = true; }, 0); });
    map.on("moveend", function () {
      if (!ready) { return; }
      var centre = map.getCenter();
      var bounds = map.getBounds();
      var km = Math.ceil(centre.distanceTo(bounds.getNorthEast()) / 1000);
      var params = new URLSearchParams(window.location.search);
      params.delete("seite");
      params.delete("cursor");
      params.set("ort", centre.lat.toFixed(4) + "," + centre.lng.toFixed(4));
      params.set("umkreis", String(Math.min(500, Math.max(1, km))));
      follow.href = window.location.pathname + "?" + params.toString();
      follow.hidden = false;
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
