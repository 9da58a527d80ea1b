/*
 * GridGov dispatch console: the incident vector tiles of large mode (/tiles/incidents), painted
 * as dots straight onto one canvas per tile.
 *
 * VectorGrid (still used for grids and buildings) makes a Leaflet path object for every feature
 * and draws them one by one; with 10,000 open incidents in view that was most of the browser's
 * work between the list and "drawn" (docs/performance.md, 2026-12-05 afternoon). Here a tile is
 * fetched, its points read (the small part of the Mapbox Vector Tile format a point layer uses)
 * and painted in one path per style. L.GridLayer gives the rest: the tiles in view, their
 * `loading`/`load` events, `redraw`, the pane and the zoom limits.
 *
 * GridGov.incidentTileLayer(url, options, style): url has {z}/{x}/{y}; style(properties) gives
 * {radius, fillColor, fillOpacity, color, weight}. The layer adds setUrl(url).
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const MOVE_TO = 1;
  const POINT = 1;
  const text = new TextDecoder();

  // --- protobuf: just what a tile of points needs ---------------------------------------------

  function varint(r) {
    let value = 0;
    let scale = 1;
    let byte;
    do {
      byte = r.buf[r.pos++];
      value += (byte & 0x7f) * scale; // arithmetic, not bit operations: ids may pass 2^31
      scale *= 128;
    } while (byte >= 0x80);
    return value;
  }

  function zigzag(n) {
    return n % 2 === 1 ? -(n + 1) / 2 : n / 2;
  }

  function skip(r, wire) {
    if (wire === 0) varint(r);
    else if (wire === 1) r.pos += 8;
    else if (wire === 2) {
      const n = varint(r); // read before adding: `r.pos += varint(r)` would add to the old pos
      r.pos += n;
    }
    else if (wire === 5) r.pos += 4;
    else throw new Error("vector tile: wire type " + wire);
  }

  /** Call fn(field, wire) for each field of the message ending at `end`; fn reads or skips it. */
  function each(r, end, fn) {
    while (r.pos < end) {
      const key = varint(r);
      const before = r.pos;
      fn(key >> 3, key & 7);
      if (r.pos === before) skip(r, key & 7);
    }
  }

  function value(r) {
    const end = varint(r) + r.pos;
    let out = null;
    each(r, end, (field, wire) => {
      if (field === 1) {
        const n = varint(r);
        out = text.decode(r.buf.subarray(r.pos, r.pos + n));
        r.pos += n;
      } else if (field === 2) {
        out = r.view.getFloat32(r.pos, true);
        r.pos += 4;
      } else if (field === 3) {
        out = r.view.getFloat64(r.pos, true);
        r.pos += 8;
      } else if (field === 4 || field === 5) out = varint(r);
      else if (field === 6) out = zigzag(varint(r));
      else if (field === 7) out = varint(r) === 1;
      else skip(r, wire);
    });
    return out;
  }

  /** One feature: its properties (from the layer's keys and values) and its points. */
  function feature(r, keys, values) {
    const end = varint(r) + r.pos;
    const properties = {};
    const points = [];
    let type = 0;
    each(r, end, (field, wire) => {
      if (field === 2 && wire === 2) {
        const stop = varint(r) + r.pos;
        while (r.pos < stop) {
          const k = varint(r);
          properties[keys[k]] = values[varint(r)];
        }
      } else if (field === 3) type = varint(r);
      else if (field === 4 && wire === 2) {
        const stop = varint(r) + r.pos;
        let x = 0;
        let y = 0;
        while (r.pos < stop) {
          const command = varint(r);
          const count = command >> 3;
          for (let i = 0; i < count; i += 1) {
            x += zigzag(varint(r));
            y += zigzag(varint(r));
            if ((command & 7) === MOVE_TO) points.push(x, y);
          }
        }
      } else skip(r, wire);
    });
    return type === POINT ? { properties, points } : null;
  }

  /** The point features of a tile's layers: [{extent, features: [{properties, points}]}]. */
  function readTile(buffer) {
    const buf = new Uint8Array(buffer);
    const r = { buf: buf, view: new DataView(buffer), pos: 0 };
    const layers = [];
    each(r, buf.length, (field, wire) => {
      if (field !== 3 || wire !== 2) return skip(r, wire);
      const end = varint(r) + r.pos;
      const keys = [];
      const values = [];
      const spans = [];
      let extent = 4096;
      each(r, end, (f, w) => {
        if (f === 2) {
          spans.push(r.pos); // features need every key and value first: read them after
          skip(r, w);
        } else if (f === 3) {
          const n = varint(r);
          keys.push(text.decode(buf.subarray(r.pos, r.pos + n)));
          r.pos += n;
        } else if (f === 4) values.push(value(r));
        else if (f === 5) extent = varint(r);
        else skip(r, w);
      });
      const features = [];
      for (const at of spans) {
        r.pos = at;
        const one = feature(r, keys, values);
        if (one) features.push(one);
      }
      r.pos = end;
      layers.push({ extent, features });
    });
    return layers;
  }

  // --- painting ---------------------------------------------------------------------------------

  function paint(canvas, layers, style, ratio) {
    const ctx = canvas.getContext("2d");
    const size = canvas.width / ratio;
    const groups = new Map(); // one path per style: a few fills and strokes per tile, not 10,000
    for (const layer of layers) {
      const scale = (size / layer.extent) * ratio;
      for (const f of layer.features) {
        const s = style(f.properties);
        const key = [s.fillColor, s.fillOpacity, s.color, s.weight, s.radius].join("|");
        let group = groups.get(key);
        if (!group) groups.set(key, (group = { style: s, xy: [] }));
        for (let i = 0; i < f.points.length; i += 2) group.xy.push(f.points[i] * scale, f.points[i + 1] * scale);
      }
    }
    for (const { style: s, xy } of groups.values()) {
      const radius = s.radius * ratio;
      ctx.beginPath();
      for (let i = 0; i < xy.length; i += 2) {
        ctx.moveTo(xy[i] + radius, xy[i + 1]);
        ctx.arc(xy[i], xy[i + 1], radius, 0, 2 * Math.PI);
      }
      ctx.globalAlpha = s.fillOpacity;
      ctx.fillStyle = s.fillColor;
      ctx.fill();
      ctx.globalAlpha = 1;
      ctx.lineWidth = s.weight * ratio;
      ctx.strokeStyle = s.color;
      ctx.stroke();
    }
  }

  const IncidentTiles = L.GridLayer.extend({
    initialize: function (url, options, style) {
      this._ggUrl = url;
      this._ggStyle = style;
      L.GridLayer.prototype.initialize.call(this, options);
      this.on("tileunload", (event) => event.tile._ggAbort && event.tile._ggAbort.abort());
    },

    getUrl: function () {
      return this._ggUrl;
    },

    /** New filters: the tiles again (the same URL: nothing to do, the tiles drawn are its own). */
    setUrl: function (url) {
      if (url === this._ggUrl) return this;
      this._ggUrl = url;
      return this.redraw();
    },

    createTile: function (coords, done) {
      const size = this.getTileSize();
      const ratio = window.devicePixelRatio || 1;
      const tile = L.DomUtil.create("canvas", "leaflet-tile");
      tile.width = size.x * ratio;
      tile.height = size.y * ratio;
      tile.style.width = size.x + "px";
      tile.style.height = size.y + "px";
      const abort = new AbortController();
      tile._ggAbort = abort;
      const url = L.Util.template(this._ggUrl, { z: coords.z, x: coords.x, y: coords.y });
      fetch(url, { signal: abort.signal })
        .then((response) => {
          if (!response.ok) throw new Error("tile " + response.status);
          return response.arrayBuffer();
        })
        .then((buffer) => {
          paint(tile, readTile(buffer), this._ggStyle, ratio);
          done(null, tile);
        })
        .catch((error) => done(error.name === "AbortError" ? null : error, tile));
      return tile;
    },
  });

  G.incidentTileLayer = (url, options, style) => new IncidentTiles(url, options, style);
  G.readVectorTile = readTile; // for tests of the reader
})();
