// Draws a page's parcels with Leaflet (EPSG:4490 lon/lat), from the GeoJSON the page carries (#map-data) or
// from a URL of this host (data-source: an import's QA report). Parcels are coloured by land use (or by the
// right over them: data-colour-by="right"), the selected
// one outlined, a boundary given dashed red, QA problems red (blocking) or orange (warning). No basemap unless
// the page names a tile URL (data-tiles).
(function () {
  "use strict";
  var holder = document.getElementById("map");
  if (!holder || !window.L) { return; }
  var colours = { cultivated: "#f2d57e", garden: "#b5d98a", forest: "#6fae6b", grassland: "#cde8a0",
                  homestead: "#e59a8c", other: "#c7c7c7" };
  // by the right over the parcel (data-colour-by="right"), as the API's map.png draws it (gis/render.py)
  var rightColours = { contract: "#f6d55c", homestead: "#ed553b", ended: "#b0b0b0", none: "#ffffff" };
  var byRight = holder.dataset.colourBy === "right";
  var map = L.map(holder, { zoomSnap: 0.25, attributionControl: false });
  if (holder.dataset.tiles) { L.tileLayer(holder.dataset.tiles, { maxZoom: 20 }).addTo(map); }

  function style(f) {
    var p = f.properties || {};
    if (p.proposed) { return { color: "#d7191c", weight: 3, dashArray: "6 4", fillOpacity: 0.15 }; }
    if (p.severity) {
      var c = p.severity === "blocking" ? "#d7191c" : "#f08c00";
      return { color: c, weight: 2, fillColor: c, fillOpacity: 0.35 };
    }
    return { color: p.selected ? "#a8321f" : "#555", weight: p.selected ? 3 : 1,
             fillColor: byRight ? rightColours[p.right || "none"] : colours[p.land_use] || "#c7c7c7",
             fillOpacity: p.selected ? 0.8 : 0.55 };
  }

  function draw(features) {
    var selected = null;
    var layer = L.geoJSON(features, {
      style: style,
      onEachFeature: function (f, l) {
        var p = f.properties || {};
        if (p.selected || p.proposed) { selected = l; }
        if (p.proposed) { return; }
        if (p.severity) { l.bindTooltip(p.check + ": " + (p.codes || []).join(", ")); return; }
        l.bindTooltip(f.id + (p.name ? " " + p.name : ""));
        if (holder.dataset.parcelUrl) {
          l.on("click", function () { window.location.href = holder.dataset.parcelUrl.replace("CODE", f.id); });
        }
      }
    }).addTo(map);
    var proposed = features.features.some(function (f) { return (f.properties || {}).proposed; });
    var bounds = (holder.dataset.fit === "selected" || proposed) && selected ? selected.getBounds() : layer.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [30, 30], maxZoom: 19 }); }
    else { map.setView([40.0, 123.9], 10); }
    holder.dataset.drawn = String(features.features.length);
  }

  var data = document.getElementById("map-data");
  if (holder.dataset.source) {
    fetch(holder.dataset.source, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (fc) { draw({ type: "FeatureCollection", features: fc.features.filter(function (f) { return f.geometry; }) }); });
  } else if (data) {
    draw(JSON.parse(data.textContent));
  }
})();
