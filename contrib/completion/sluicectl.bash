# SPDX-License-Identifier: MIT
# bash completion for sluicectl(1): commands, options, task names from the pipeline files
# (through `sluicectl graph --dot`, which needs no daemon), parameter names of a task, states.
_sluicectl_tasks() {
    local dir=$1
    sluicectl ${dir:+-C "$dir"} graph --dot 2>/dev/null |
        sed -n 's/^ *"T:\([^"]*\)" \[shape=box.*/\1/p'
}

_sluicectl_pipelines() {
    local dir=$1
    sluicectl ${dir:+-C "$dir"} graph --dot 2>/dev/null |
        sed -n 's/^ *subgraph "cluster_\([^"]*\)".*/\1/p'
}

_sluicectl() {
    local cur prev words cword
    _init_completion || return
    local commands="status list run why show retry cancel reset-failed backfill pause resume reload history logs check graph"
    local options="--help --version --user --config-dir --quiet --param --all --dot --json
                   --state --force --since --follow --from --to --no-wait --cancel"
    local dir= cmd= i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            -C|--config-dir) dir=${words[i + 1]} ;;
            --config-dir=*) dir=${words[i]#*=} ;;
            -*) ;;
            *) [ -z "$cmd" ] && [[ ${words[i - 1]} != @(-C|--config-dir|-p|--param|--state|--since|--from|--to|--cancel) ]] &&
                   cmd=${words[i]} ;;
        esac
    done
    case $prev in
        -C|--config-dir) _filedir -d; return ;;
        --state) COMPREPLY=($(compgen -W "waiting queued starting running retrying failed" -- "$cur")); return ;;
        --since|--from|--to|--cancel) return ;;
        -p|--param) return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$options" -- "$cur"))
        return
    fi
    if [ -z "$cmd" ]; then
        COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        return
    fi
    case $cmd in
        run|why|show|retry|cancel|reset-failed|backfill|logs|history|graph)
            COMPREPLY=($(compgen -W "$(_sluicectl_tasks "$dir")" -- "$cur")) ;;
        pause|resume)
            COMPREPLY=($(compgen -W "$(_sluicectl_pipelines "$dir")" -- "$cur")) ;;
        check)
            _filedir conf ;;
    esac
}
complete -F _sluicectl sluicectl
