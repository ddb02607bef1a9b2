// The functions-framework entry points (gen2 Cloud Functions, CloudEvent signature):
//   onSecretEvent  Secret Manager notification → restart / reload / wait per dependent workload
//   rotateSecret   Cloud Scheduler tick or SECRET_ROTATE → a new secret version via a strategy
import * as functions from '@google-cloud/functions-framework';
import { onSecretEvent } from './onSecretEvent';
import { rotateSecret } from './rotation/rotateSecretFunction';

functions.cloudEvent('onSecretEvent', onSecretEvent);
functions.cloudEvent('rotateSecret', rotateSecret);

export { onSecretEvent, rotateSecret };
