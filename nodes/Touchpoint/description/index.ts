/**
 * Touchpoint's parameters, one file per channel, in the order the panel shows them (the node
 * places the contact mapping after the first three and the policy before Options).
 */
import type { INodeProperties } from 'n8n-workflow';

import { commonProperties } from './common';
import { emailProperties } from './email';
import { linkProperties } from './links';
import { metaPageProperties } from './meta-page';
import { optionsProperty } from './options';
import { pushProperties } from './push';
import { smsProperties } from './sms';
import { whatsappProperties } from './whatsapp';

export const properties: INodeProperties[] = [
	...commonProperties,
	...whatsappProperties,
	...metaPageProperties,
	...pushProperties,
	...smsProperties,
	...emailProperties,
	...linkProperties,
	optionsProperty,
];
