# bash completion for audit-replayctl (installed to /usr/share/bash-completion/completions).
# Region names are read from the daemon's configuration when it is readable.

_audit_replayctl_regions() {
    local config=/etc/audit-replay/config.yaml i
    for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
        [[ ${COMP_WORDS[i]} == --config ]] && config=${COMP_WORDS[i + 1]}
    done
    [[ -r $config ]] || return 0
    # The keys indented once below "regions:".
    sed -n '/^regions:/,/^[^[:space:]#]/{s/^  \([A-Za-z0-9_.-][A-Za-z0-9_.-]*\):.*/\1/p}' "$config"
}

# Files, with bash-completion's _filedir when it is loaded.
_audit_replayctl_files() {
    if declare -F _filedir >/dev/null; then
        _filedir "$@"
    else
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
}

_audit_replayctl() {
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
    fi

    local commands="replay status watch cancel webhook webhook-status forward stats ping jwks ingest verify export help"
    local global="--socket --config --json --help --version"

    case $prev in
        --socket | --jwks)
            _audit_replayctl_files
            return
            ;;
        --config)
            _audit_replayctl_files '@(yaml|yml)'
            return
            ;;
        --region)
            mapfile -t COMPREPLY < <(compgen -W "$(_audit_replayctl_regions)" -- "$cur")
            return
            ;;
        --format)
            mapfile -t COMPREPLY < <(compgen -W "json cef" -- "$cur")
            return
            ;;
        --start | --end | --since | --until | --interval)
            return
            ;;
    esac

    local command="" i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --socket | --config | --region | --jwks | --format | --start | --end | --since | \
                --until | --interval)
                ((i++))
                ;;
            -*) ;;
            *)
                command=${words[i]}
                break
                ;;
        esac
    done

    local options
    case $command in
        "") options="$global" ;;
        replay) options="--region --start --end --since --until --wait --interval --json" ;;
        status | webhook-status) options="--region --json" ;;
        watch) options="--region --interval --json" ;;
        cancel) options="--region --json" ;;
        webhook) options="show set reset --region --endpoint --enabled --log-format --skip-ssl-verification --authorization-file --json" ;;
        forward) options="--region --json" ;;
        stats | ping | jwks) options="--json" ;;
        ingest) options="--region --skip-invalid --json" ;;
        verify) options="--jwks --format --json" ;;
        export) options="--region --start --end --since --until --format --gzip -o --json" ;;
        help)
            mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
            return
            ;;
    esac

    if [[ -z $command && $cur != -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
    elif [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$options" -- "$cur")
    elif [[ $command == forward && $prev == forward ]]; then
        mapfile -t COMPREPLY < <(compgen -W "status pause resume" -- "$cur")
    elif [[ $command == ingest || $command == verify ]]; then
        _audit_replayctl_files
    fi
}
complete -F _audit_replayctl audit-replayctl
