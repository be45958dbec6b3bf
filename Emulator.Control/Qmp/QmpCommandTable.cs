using System.Text.Json;
using System.Text.Json.Nodes;

namespace Emulator.Control.Qmp;

/// <summary>A parameter a command accepts: its name, JSON type, and whether it may be left out.</summary>
/// <param name="Name">The member name in <c>arguments</c>.</param>
/// <param name="Kind">Its JSON type (QEMU's schema types: string, int, bool, object).</param>
/// <param name="Optional">True when the command runs without it.</param>
internal sealed record QmpParameter(string Name, JsonValueKind Kind, bool Optional = false);

/// <summary>One QMP command: its parameters and what it does.</summary>
/// <param name="Name">The name clients send in <c>execute</c>.</param>
/// <param name="Parameters">What <c>arguments</c> may hold; anything else is refused.</param>
/// <param name="Run">Carries the command out and returns the <c>return</c> value.</param>
internal sealed record QmpCommand(string Name, IReadOnlyList<QmpParameter> Parameters, Func<QmpContext, JsonObject, JsonNode> Run);

/// <summary>
/// Every command the control socket knows, by name. The command families add themselves
/// (<c>Commands/*.cs</c>); arguments are checked here, with QEMU's messages, before a command runs.
/// </summary>
internal sealed class QmpCommandTable
{
    private readonly Dictionary<string, QmpCommand> _commands = new(StringComparer.Ordinal);

    /// <summary>The table with every command family registered.</summary>
    public static QmpCommandTable Standard()
    {
        var table = new QmpCommandTable();
        Commands.StatusCommands.Register(table);
        Commands.PowerCommands.Register(table);
        Commands.InfoCommands.Register(table);
        Commands.CpuCommands.Register(table);
        Commands.HumanMonitorCommand.Register(table);
        Commands.InstanceCommands.Register(table);
        Commands.ProfileCommands.Register(table);
        Commands.SnapshotCommands.Register(table);
        QmpJobs.Register(table);
        Commands.DisplayCommands.Register(table);
        return table;
    }

    /// <summary>The names, for <c>query-commands</c>.</summary>
    public IEnumerable<string> Names => _commands.Keys;

    /// <summary>Adds a command.</summary>
    public void Add(string name, IReadOnlyList<QmpParameter> parameters, Func<QmpContext, JsonObject, JsonNode> run) =>
        _commands.Add(name, new QmpCommand(name, parameters, run));

    /// <summary>Runs <paramref name="name"/> with <paramref name="arguments"/>; throws <see cref="QmpException"/> for what the client got wrong.</summary>
    public JsonNode Execute(QmpContext context, string name, JsonObject arguments)
    {
        if (!_commands.TryGetValue(name, out QmpCommand? command))
        {
            throw new QmpException(QmpException.CommandNotFound, $"The command {name} has not been found");
        }

        foreach ((string key, JsonNode? value) in arguments)
        {
            QmpParameter? p = command.Parameters.FirstOrDefault(p => p.Name == key)
                ?? throw new QmpException($"Parameter '{key}' is unexpected");
            if (KindOf(value) != p.Kind)
            {
                throw new QmpException($"Invalid parameter type for '{key}', expected: {SchemaName(p.Kind)}");
            }
        }

        foreach (QmpParameter p in command.Parameters)
        {
            if (!p.Optional && !arguments.ContainsKey(p.Name))
            {
                throw new QmpException($"Parameter '{p.Name}' is missing");
            }
        }

        return command.Run(context, arguments);
    }

    private static JsonValueKind KindOf(JsonNode? node) => node switch
    {
        null => JsonValueKind.Null,
        JsonObject => JsonValueKind.Object,
        JsonArray => JsonValueKind.Array,
        JsonValue v => v.GetValueKind() is JsonValueKind.True or JsonValueKind.False ? JsonValueKind.True : v.GetValueKind(),
        _ => JsonValueKind.Undefined,
    };

    private static string SchemaName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.String => "string",
        JsonValueKind.Number => "int",
        JsonValueKind.True or JsonValueKind.False => "bool",
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        _ => "null",
    };
}
