/** The six channels as a dropdown lists them (values are the stable channel ids). */
export const channelOptions = [
	{ name: 'WhatsApp', value: 'whatsapp' },
	{ name: 'Messenger', value: 'messenger' },
	{ name: 'Instagram Direct', value: 'instagram' },
	{ name: 'SMS', value: 'sms' },
	{ name: 'Push', value: 'push' },
	{ name: 'Email', value: 'email' },
];
