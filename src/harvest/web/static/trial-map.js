// harvest: the trial page's map of its sites. Leaflet is served by this site (datasette-leaflet); the only
// request to another host is for the map tiles. Its build is an ES module, hence import(). The points come in the page (#trial-points), drawn as circles.
// Nothing from the record reaches Leaflet as a string: strings given to tooltips and popups are read as HTML.
(function () {
  const box = document.getElementById("trial-map");
  const data = document.getElementById("trial-points");
  if (!box || !data) return;
  const css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = box.dataset.leafletCss;
  document.head.appendChild(css);
  import(box.dataset.leafletJs).then(function (L) {
    const points = JSON.parse(data.textContent);
    const map = L.map(box, { scrollWheelZoom: false });
    L.tileLayer("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", {
      maxZoom: 18,
      attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
    }).addTo(map);
    const bounds = [];
    for (const p of points) {
      const marker = L.circleMarker([p.lat, p.lon], { radius: 5, weight: 1, color: "#1d4379", fillOpacity: 0.6 });
      // A facility name is the record's text, typed by anyone: Leaflet renders a string it is given as HTML,
      // so it gets an element whose text is the name, never markup.
      const label = document.createElement("span");
      label.textContent = p.name || "site";
      marker.bindTooltip(label);
      marker.addTo(map);
      bounds.push([p.lat, p.lon]);
    }
    if (bounds.length === 1) map.setView(bounds[0], 8);
    else map.fitBounds(bounds, { padding: [20, 20], maxZoom: 10 });
    box.dataset.drawn = String(points.length);
  });
})();
