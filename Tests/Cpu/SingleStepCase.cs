using System.IO.Compression;
using System.Text.Json;

namespace Emulator.Tests.Cpu;

/// <summary>One hardware test vector of the SingleStepTests format: an instruction, the state before it and what changed after it.</summary>
public sealed class SingleStepCase
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public string Name { get; set; } = "";

    public int[] Bytes { get; set; } = [];

    public SingleStepState Initial { get; set; } = new();

    public SingleStepState Final { get; set; } = new();

    public SingleStepException? Exception { get; set; }

    /// <summary>Reads a file of one JSON case per line, gzip-compressed.</summary>
    public static List<SingleStepCase> Load(string path)
    {
        using FileStream file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        var cases = new List<SingleStepCase>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0)
            {
                cases.Add(JsonSerializer.Deserialize<SingleStepCase>(line, Json)!);
            }
        }

        return cases;
    }
}

/// <summary>Registers by their 8086 names, and RAM bytes as [physical address, value] pairs.</summary>
public sealed class SingleStepState
{
    public Dictionary<string, int> Regs { get; set; } = [];

    public int[][] Ram { get; set; } = [];
}

/// <summary>Present when the instruction faulted: the vector and where its FLAGS image was pushed.</summary>
public sealed class SingleStepException
{
    public int Number { get; set; }

    public int FlagAddress { get; set; }
}
