// `rotor completion bash|zsh`: completion scripts computed from the commands' flag tables.
// zsh runs the bash function through bashcompinit (zsh's own emulation of bash completion), so
// both shells complete exactly the same words.
import { InputError } from '../errors';
import { COMMANDS } from './commands';
import type { CommandSpec } from './flags';

const TOP_LEVEL = ['--help', '--version'];

function words(values: readonly string[]): string {
  return values.join(' ');
}

/** The bash case arms completing one command: a flag's value, then the command's flags. */
function commandArm(c: CommandSpec): string {
  const valueArms = c.flags
    .filter((f) => f.type === 'string')
    .map((f) => {
      const names = [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])].join('|');
      const offered = f.choices ?? f.suggestions;
      const reply = offered
        ? `COMPREPLY=($(compgen -W "${words(offered)}" -- "$cur"))`
        : f.complete === 'directory'
          ? `COMPREPLY=($(compgen -d -- "$cur"))`
          : f.complete === 'file'
            ? `COMPREPLY=($(compgen -f -- "$cur"))`
            : 'COMPREPLY=()';
      return `        ${names}) ${reply}; return ;;`;
    });
  const flags = c.flags.flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]);
  return [
    `    ${c.name})`,
    '      case "$prev" in',
    ...valueArms,
    '      esac',
    `      COMPREPLY=($(compgen -W "${words([...flags, ...(c.positionals ?? [])])}" -- "$cur"))`,
    '      ;;',
  ].join('\n');
}

export function bashCompletion(): string {
  return `# rotor completion for bash: source <(rotor completion bash)
_rotor() {
  local cur prev cmd
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${words([...COMMANDS.map((c) => c.name), ...TOP_LEVEL])}" -- "$cur"))
    return
  fi
  case "$cmd" in
${COMMANDS.map(commandArm).join('\n')}
  esac
}
complete -o default -F _rotor rotor
`;
}

export function zshCompletion(): string {
  return `#compdef rotor
# rotor completion for zsh: save as _rotor on $fpath, or source <(rotor completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashCompletion().replace(/^# .*\n/, '')}`;
}

export function completionScript(shell: string | undefined): string {
  if (shell === 'bash') return bashCompletion();
  if (shell === 'zsh') return zshCompletion();
  throw new InputError(
    shell === undefined ? 'name a shell: bash or zsh' : `no completion for shell "${shell}" (bash, zsh)`,
  );
}
