// The password of `user add` / `user passwd`: given as an argument, read from stdin (`-`, or
// whenever stdin is not a terminal), or typed at a prompt that does not echo it.
import { readFileSync } from 'node:fs';
import { RookeryError } from '../errors.js';

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = ['\u007f', '\b'];

export async function readPassword(argument: string | undefined): Promise<string> {
  let password: string;
  if (argument !== undefined && argument !== '-') password = argument;
  else if (argument === undefined && process.stdin.isTTY) password = await promptTwice();
  else password = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  if (password.length === 0) throw new RookeryError('ROOKERY_INPUT_INVALID', 'the password is empty');
  return password;
}

async function promptTwice(): Promise<string> {
  const first = await promptHidden('Password: ');
  const second = await promptHidden('Retype the password: ');
  if (first !== second) throw new RookeryError('ROOKERY_INPUT_INVALID', 'the two passwords differ');
  return first;
}

/** Reads one line from the terminal in raw mode, so nothing typed is echoed. */
function promptHidden(question: string): Promise<string> {
  const { stdin, stderr } = process;
  return new Promise((resolve, reject) => {
    let typed: string[] = [];
    const finish = (answer: string | undefined): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
      if (answer === undefined) reject(new RookeryError('ROOKERY_INPUT_INVALID', 'cancelled'));
      else resolve(answer);
    };
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === CTRL_D) return finish(typed.join(''));
        if (char === CTRL_C) return finish(undefined);
        typed = BACKSPACE.includes(char) ? typed.slice(0, -1) : [...typed, char];
      }
    };
    stderr.write(question);
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
