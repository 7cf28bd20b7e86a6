/**
 * The funnel as a self-contained SVG chart (one centred bar per stage, width proportional to the
 * contacts who reached it, with counts and conversion to the next stage) and an HTML report.
 */
import type { FunnelStage } from './journey';

export function escapeXml(text: string): string {
	return text.replace(
		/[&<>"']/g,
		(c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
	);
}

const COLORS = [
	'#5B3FD9',
	'#6E55E0',
	'#8169E6',
	'#957EEC',
	'#A893F1',
	'#BBA8F6',
	'#CCBCFA',
	'#DCD0FD',
];

export function funnelSvg(title: string, stages: FunnelStage[]): string {
	const width = 720;
	const barHeight = 44;
	const gap = 12;
	const top = 56;
	const maxBar = 520;
	const height = top + stages.length * (barHeight + gap) + 16;
	const max = Math.max(1, ...stages.map((s) => s.reached));
	const parts: string[] = [
		`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)} funnel">`,
		`<rect width="${width}" height="${height}" fill="#ffffff"/>`,
		`<text x="${width / 2}" y="32" text-anchor="middle" font-family="Arial, sans-serif" font-size="20" font-weight="bold" fill="#1F1147">${escapeXml(title)}</text>`,
	];
	stages.forEach((s, i) => {
		const w = Math.max(2, Math.round((s.reached / max) * maxBar));
		const x = Math.round((width - w) / 2);
		const y = top + i * (barHeight + gap);
		const conv = s.conversionToNextPct === null ? '' : ` · ${s.conversionToNextPct}% to next`;
		parts.push(
			`<g class="stage" data-stage="${escapeXml(s.stage)}" data-reached="${s.reached}">`,
			`<rect x="${x}" y="${y}" width="${w}" height="${barHeight}" rx="6" fill="${COLORS[i % COLORS.length]}"/>`,
			`<text x="${width / 2}" y="${y + 28}" text-anchor="middle" font-family="Arial, sans-serif" font-size="15" fill="${w >= 360 ? '#ffffff' : '#1F1147'}">${escapeXml(s.stage)}: ${s.reached}${escapeXml(conv)}</text>`,
			'</g>',
		);
	});
	parts.push('</svg>');
	return parts.join('\n');
}

export function funnelHtml(title: string, stages: FunnelStage[], generatedAt: string): string {
	const rows = stages
		.map(
			(s) =>
				`<tr><td>${escapeXml(s.stage)}</td><td>${s.entered}</td><td>${s.reached}</td><td>${s.currentlyIn}</td><td>${s.movedOn}</td><td>${s.conversionToNextPct ?? '–'}</td><td>${s.medianTimeInStageHours ?? '–'}</td><td>${s.dropOff}</td></tr>`,
		)
		.join('\n');
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)} funnel</title>
<style>body{font-family:Arial,sans-serif;margin:2rem;color:#1F1147}table{border-collapse:collapse;margin-top:1rem}td,th{border:1px solid #ddd;padding:.4rem .7rem;text-align:right}td:first-child,th:first-child{text-align:left}</style>
</head><body>
<h1>${escapeXml(title)}</h1>
${funnelSvg(title, stages)}
<table><thead><tr><th>Stage</th><th>Entered</th><th>Reached</th><th>Currently in</th><th>Moved on</th><th>Conversion to next %</th><th>Median hours in stage</th><th>Drop-off</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<p>Generated ${escapeXml(generatedAt)}</p>
</body></html>`;
}
