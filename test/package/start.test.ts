/**
 * `npm start` on a machine where something already listens on its port says so and stops,
 * instead of printing "Ready" for a page another process serves.
 */
import net from 'node:net';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const rt = require('../../scripts/n8n-runtime.js');

describe('npm start port check', () => {
	it('refuses a port that is taken, naming it and how to choose another', async () => {
		const other = net.createServer();
		await new Promise<void>((resolve) => other.listen(0, '0.0.0.0', resolve));
		const port = (other.address() as net.AddressInfo).port;
		try {
			await expect(rt.assertPortFree(port)).rejects.toThrow(
				`Port ${port} is already in use by another process. Stop it, or start on another port: N8N_PORT=${port + 1} npm start`,
			);
		} finally {
			await new Promise((resolve) => other.close(resolve));
		}
		await expect(rt.assertPortFree(port)).resolves.toBeUndefined();
	});
});
