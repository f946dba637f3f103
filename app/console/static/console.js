// Draws a page's parcels with Leaflet from the GeoJSON the page carries (EPSG:4490 lon/lat), coloured by land
// use; the selected parcel outlined. No basemap unless the page names a tile URL (data-tiles).
(function () {
  "use strict";
  var holder = document.getElementById("map");
  var data = document.getElementById("map-data");
  if (!holder || !data || !window.L) { return; }
  var colours = { cultivated: "#f2d57e", garden: "#b5d98a", forest: "#6fae6b", grassland: "#cde8a0",
                  homestead: "#e59a8c", other: "#c7c7c7" };
  var features = JSON.parse(data.textContent);
  var map = L.map(holder, { zoomSnap: 0.25, attributionControl: false });
  if (holder.dataset.tiles) { L.tileLayer(holder.dataset.tiles, { maxZoom: 20 }).addTo(map); }
  var selected = null;
  var layer = L.geoJSON(features, {
    style: function (f) {
      if (f.properties.proposed) { return { color: "#d7191c", weight: 3, dashArray: "6 4", fillOpacity: 0.15 }; }
      var chosen = f.properties.selected;
      return { color: chosen ? "#a8321f" : "#555", weight: chosen ? 3 : 1,
               fillColor: colours[f.properties.land_use] || "#c7c7c7", fillOpacity: chosen ? 0.8 : 0.55 };
    },
    onEachFeature: function (f, l) {
      if (f.properties.selected || f.properties.proposed) { selected = l; }
      if (f.properties.proposed) { return; }
      l.bindTooltip(f.id + (f.properties.name ? " " + f.properties.name : ""));
      l.on("click", function () { window.location.href = holder.dataset.parcelUrl.replace("CODE", f.id); });
    }
  }).addTo(map);
  var bounds = (holder.dataset.fit === "selected" || features.features.some(function (f) { return f.properties.proposed; }))
    && selected ? selected.getBounds() : layer.getBounds();
  if (bounds.isValid()) { map.fitBounds(bounds, { padding: [30, 30], maxZoom: 19 }); } else { map.setView([40.0, 123.9], 10); }
  holder.dataset.drawn = String(features.features.length);
})();
