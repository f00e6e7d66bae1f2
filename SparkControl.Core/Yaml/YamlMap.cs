using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SparkControl.Core.Yaml;

/// <summary>
/// Reads one YAML mapping field by field, collecting problems with their line numbers instead of throwing, and
/// reporting fields nobody asked for (a typo like <c>prot:</c> must not pass silently).
/// </summary>
public sealed class YamlMap
{
    private readonly YamlMappingNode _node;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    private YamlMap(YamlMappingNode node, string file, List<ConfigProblem> problems)
    {
        _node = node;
        File = file;
        Problems = problems;
    }

    public string File { get; }
    public List<ConfigProblem> Problems { get; }
    public int Line => (int)_node.Start.Line;

    /// <summary>Parses <paramref name="text"/> and returns its root mapping (empty text gives an empty mapping).</summary>
    public static YamlMap Load(string text, string file, List<ConfigProblem> problems)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = new StringReader(text);
            stream.Load(reader);
        }
        catch (YamlException ex)
        {
            problems.Add(new ConfigProblem(file, (int)ex.Start.Line, $"not valid YAML: {Inner(ex).Message}"));
            return new YamlMap(new YamlMappingNode(), file, problems);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return new YamlMap(new YamlMappingNode(), file, problems);
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            problems.Add(new ConfigProblem(file, (int)stream.Documents[0].RootNode.Start.Line, "the file must be a mapping (key: value) at the top level"));
            return new YamlMap(new YamlMappingNode(), file, problems);
        }

        return new YamlMap(root, file, problems);
    }

    public void Problem(string message, int? line = null) => Problems.Add(new ConfigProblem(File, line ?? Line, message));

    public void ProblemAt(string key, string message) => Problems.Add(new ConfigProblem(File, LineOf(key), message));

    public int LineOf(string key) =>
        _node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? (int)value.Start.Line : Line;

    public bool Has(string key) => _node.Children.ContainsKey(new YamlScalarNode(key));

    public string? String(string key, bool required = false)
    {
        var node = Take(key);
        switch (node)
        {
            case null:
                if (required)
                {
                    Problem($"'{key}' is required");
                }

                return null;
            case YamlScalarNode scalar:
                return IsNull(scalar) ? null : scalar.Value;
            default:
                Problems.Add(new ConfigProblem(File, (int)node.Start.Line, $"'{key}' must be a single value"));
                return null;
        }
    }

    public int? Int(string key, bool required = false)
    {
        var text = String(key, required);
        if (text is null)
        {
            return null;
        }

        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        ProblemAt(key, $"'{key}' must be a whole number, not '{text}'");
        return null;
    }

    public double? Double(string key, bool required = false)
    {
        var text = String(key, required);
        if (text is null)
        {
            return null;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value))
        {
            return value;
        }

        ProblemAt(key, $"'{key}' must be a number, not '{text}'");
        return null;
    }

    public bool? Bool(string key)
    {
        var text = String(key);
        switch (text?.ToLowerInvariant())
        {
            case null:
                return null;
            case "true" or "yes" or "on":
                return true;
            case "false" or "no" or "off":
                return false;
            default:
                ProblemAt(key, $"'{key}' must be true or false, not '{text}'");
                return null;
        }
    }

    public TimeSpan? Duration(string key)
    {
        var text = String(key);
        if (text is null)
        {
            return null;
        }

        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) && value >= TimeSpan.Zero)
        {
            return value;
        }

        ProblemAt(key, $"'{key}' must be a duration like 00:05:00, not '{text}'");
        return null;
    }

    public IReadOnlyList<string> Strings(string key)
    {
        var node = Take(key);
        switch (node)
        {
            case null:
                return [];
            case YamlScalarNode scalar when IsNull(scalar):
                return [];
            case YamlSequenceNode sequence:
                var values = new List<string>();
                foreach (var item in sequence.Children)
                {
                    if (item is YamlScalarNode { Value: { } value } && !IsNull((YamlScalarNode)item))
                    {
                        values.Add(value);
                    }
                    else
                    {
                        Problems.Add(new ConfigProblem(File, (int)item.Start.Line, $"every item of '{key}' must be a single value"));
                    }
                }

                return values;
            default:
                Problems.Add(new ConfigProblem(File, (int)node.Start.Line, $"'{key}' must be a list"));
                return [];
        }
    }

    public YamlMap? Map(string key)
    {
        var node = Take(key);
        switch (node)
        {
            case null:
                return null;
            case YamlScalarNode scalar when IsNull(scalar):
                return null;
            case YamlMappingNode mapping:
                return new YamlMap(mapping, File, Problems);
            default:
                Problems.Add(new ConfigProblem(File, (int)node.Start.Line, $"'{key}' must be a mapping (key: value)"));
                return null;
        }
    }

    public IReadOnlyList<YamlMap> Maps(string key)
    {
        var node = Take(key);
        switch (node)
        {
            case null:
                return [];
            case YamlScalarNode scalar when IsNull(scalar):
                return [];
            case YamlSequenceNode sequence:
                var maps = new List<YamlMap>();
                foreach (var item in sequence.Children)
                {
                    if (item is YamlMappingNode mapping)
                    {
                        maps.Add(new YamlMap(mapping, File, Problems));
                    }
                    else
                    {
                        Problems.Add(new ConfigProblem(File, (int)item.Start.Line, $"every item of '{key}' must be a mapping (key: value)"));
                    }
                }

                return maps;
            default:
                Problems.Add(new ConfigProblem(File, (int)node.Start.Line, $"'{key}' must be a list"));
                return [];
        }
    }

    /// <summary>Reports every key that no reader asked for. Call once all fields have been read.</summary>
    public void RejectUnknown()
    {
        foreach (var (key, value) in _node.Children)
        {
            var name = (key as YamlScalarNode)?.Value ?? "?";
            if (!_read.Contains(name))
            {
                Problems.Add(new ConfigProblem(File, (int)key.Start.Line, $"unknown field '{name}'"));
            }
        }
    }

    private YamlNode? Take(string key)
    {
        _read.Add(key);
        return _node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;
    }

    private static bool IsNull(YamlScalarNode scalar) =>
        scalar.Style == ScalarStyle.Plain && (scalar.Value is null or "" or "~" or "null" or "Null" or "NULL");

    private static Exception Inner(Exception ex) => ex.InnerException is YamlException inner ? Inner(inner) : ex;
}
