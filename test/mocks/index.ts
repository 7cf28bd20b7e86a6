export * from './base';
export { MetaGraphMock, metaError } from './meta';
export { TwilioMock, twilioError, countSegments } from './twilio';
export { FcmMock, fcmError } from './fcm';
export { OpenAIMock } from './openai';
export { SmtpMock, parseHeaders } from './smtp';
