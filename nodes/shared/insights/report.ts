/**
 * The campaign report as a self-contained SVG chart (per campaign, channel and variant: sent,
 * delivered, read, clicked, converted as bars, on one scale) and an HTML report with every count,
 * failures by reason and blocked by reason.
 */
import { escapeXml } from '../journey/report';
import type { CampaignReport, CampaignReportRow } from '../domain';

const METRICS: Array<{ key: keyof CampaignReportRow; label: string; color: string }> = [
	{ key: 'sent', label: 'Sent', color: '#1F1147' },
	{ key: 'delivered', label: 'Delivered', color: '#5B3FD9' },
	{ key: 'read', label: 'Read', color: '#8169E6' },
	{ key: 'clicked', label: 'Clicked', color: '#00A88F' },
	{ key: 'converted', label: 'Converted', color: '#F0A500' },
];

export const rowLabel = (r: CampaignReportRow) =>
	[r.campaign || '(no campaign)', r.channel, r.variant ? `variant ${r.variant}` : '']
		.filter(Boolean)
		.join(' · ');

export function campaignSvg(title: string, rows: CampaignReportRow[]): string {
	const width = 760;
	const labelWidth = 220;
	const barHeight = 12;
	const groupGap = 18;
	const top = 70;
	const groupHeight = METRICS.length * barHeight + groupGap;
	const height = top + Math.max(1, rows.length) * groupHeight + 10;
	const max = Math.max(1, ...rows.map((r) => r.sent));
	const scale = (n: number) =>
		Math.max(n > 0 ? 2 : 0, Math.round((n / max) * (width - labelWidth - 70)));
	const parts: string[] = [
		`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">`,
		`<rect width="${width}" height="${height}" fill="#ffffff"/>`,
		`<text x="${width / 2}" y="28" text-anchor="middle" font-family="Arial, sans-serif" font-size="20" font-weight="bold" fill="#1F1147">${escapeXml(title)}</text>`,
	];
	METRICS.forEach((m, k) => {
		const x = labelWidth + k * 100;
		parts.push(
			`<rect x="${x}" y="42" width="10" height="10" fill="${m.color}"/><text x="${x + 14}" y="51" font-family="Arial, sans-serif" font-size="11" fill="#333">${m.label}</text>`,
		);
	});
	if (!rows.length)
		parts.push(
			`<text x="${width / 2}" y="${top + 14}" text-anchor="middle" font-family="Arial, sans-serif" font-size="14" fill="#666">No sends in this period</text>`,
		);
	rows.forEach((r, i) => {
		const y = top + i * groupHeight;
		parts.push(
			`<g class="row" data-label="${escapeXml(rowLabel(r))}" data-sent="${r.sent}">`,
			`<text x="${labelWidth - 10}" y="${y + (METRICS.length * barHeight) / 2 + 4}" text-anchor="end" font-family="Arial, sans-serif" font-size="12" fill="#1F1147">${escapeXml(rowLabel(r))}</text>`,
		);
		METRICS.forEach((m, k) => {
			const n = Number(r[m.key]);
			const w = scale(n);
			parts.push(
				`<rect class="bar" data-metric="${m.key}" x="${labelWidth}" y="${y + k * barHeight}" width="${w}" height="${barHeight - 2}" fill="${m.color}"/>`,
				`<text x="${labelWidth + w + 4}" y="${y + k * barHeight + 9}" font-family="Arial, sans-serif" font-size="10" fill="#333">${n}</text>`,
			);
		});
		parts.push('</g>');
	});
	parts.push('</svg>');
	return parts.join('\n');
}

const pct = (n: number, d: number) => (d ? `${Math.round((n / d) * 1000) / 10}%` : '–');

export function campaignHtml(
	title: string,
	report: CampaignReport,
	svg: string,
	generatedAt: string,
): string {
	const head = [
		'Campaign',
		'Channel',
		'Variant',
		'Reserved',
		'Sent',
		'Delivered',
		'Read',
		'Clicked',
		'Replied',
		'Converted',
		'Opt-outs',
		'Complaints',
		'Bounces',
		'Failed',
	];
	const rows = report.rows.map(
		(r) =>
			`<tr><td>${escapeXml(r.campaign || '(none)')}</td><td>${escapeXml(r.channel)}</td><td>${escapeXml(r.variant || '')}</td><td>${r.reserved}</td><td>${r.sent}</td><td>${r.delivered} (${pct(r.delivered, r.sent)})</td><td>${r.read} (${pct(r.read, r.sent)})</td><td>${r.clicked} (${pct(r.clicked, r.sent)})</td><td>${r.replied}</td><td>${r.converted} (${pct(r.converted, r.sent)})</td><td>${r.optOuts}</td><td>${r.complaints}</td><td>${r.bounces}</td><td>${r.failed}${
				Object.keys(r.failedBy).length
					? `<br><small>${escapeXml(
							Object.entries(r.failedBy)
								.map(([k, v]) => `${k}: ${v}`)
								.join(', '),
						)}</small>`
					: ''
			}</td></tr>`,
	);
	const blocked = report.blocked.map(
		(b) =>
			`<tr><td>${escapeXml(b.campaign || '(none)')}</td><td>${escapeXml(b.channel)}</td><td>${b.total}</td><td>${escapeXml(
				Object.entries(b.byReason)
					.map(([k, v]) => `${k}: ${v}`)
					.join(', '),
			)}</td></tr>`,
	);
	return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeXml(title)}</title><style>body{font-family:Arial,sans-serif;color:#1F1147;margin:24px}table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ddd;padding:6px 10px;text-align:left}th{background:#F3F0FF}</style></head><body>
<h1>${escapeXml(title)}</h1><p>Generated ${escapeXml(generatedAt)}</p>${svg}
<h2>Sends</h2><table><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>${rows.join('')}</table>
<h2>Blocked before sending</h2><table><tr><th>Campaign</th><th>Channel</th><th>Blocked</th><th>By reason</th></tr>${blocked.join('') || '<tr><td colspan="4">None</td></tr>'}</table>
</body></html>`;
}
