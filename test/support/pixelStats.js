// Runs in the browser (test/support/browser.ts loads it into the page): decodes a PNG given as
// base64 and counts its colours, and the pixels near each colour asked for (±24 per channel).
globalThis.gkePixelStats = async (base64, wanted) => {
  const image = new Image();
  image.src = `data:image/png;base64,${base64}`;
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const targets = wanted.map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));
  const near = targets.map(() => 0);
  const seen = new Set();
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
    seen.add(((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4));
    targets.forEach(([tr, tg, tb], k) => {
      if (Math.abs(r - tr) <= 24 && Math.abs(g - tg) <= 24 && Math.abs(b - tb) <= 24) near[k]++;
    });
  }
  return {
    width: canvas.width,
    height: canvas.height,
    colours: seen.size,
    near: Object.fromEntries(wanted.map((hex, k) => [hex, near[k]])),
  };
};
