// A loss curve drawn small: `drawSpark(canvas, values)` draws `values` (nulls skipped) as one
// line scaled to their own range. Shared by the teacher's dashboard and the race board.

export function drawSpark(canvas, values) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const finite = (values || []).filter((v) => v !== null && Number.isFinite(v));
  if (finite.length < 2) return;
  const lo = Math.min(...finite);
  const span = Math.max(...finite) - lo || 1;
  ctx.strokeStyle = getComputedStyle(document.body).getPropertyValue('--accent').trim() || '#1663c7';
  ctx.lineWidth = Math.max(1.5, canvas.height / 20);
  ctx.beginPath();
  let first = true;
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) return;
    const x = 2 + (i / (values.length - 1)) * (canvas.width - 4);
    const y = 2 + (1 - (v - lo) / span) * (canvas.height - 4);
    if (first) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
    first = false;
  });
  ctx.stroke();
}
