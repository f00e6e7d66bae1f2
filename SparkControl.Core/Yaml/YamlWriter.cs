using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace SparkControl.Core.Yaml;

/// <summary>Builds YAML documents field by field, leaving out nulls, so files the panel writes stay short and readable.</summary>
public sealed class YamlWriter
{
    private readonly YamlMappingNode _node = new();

    public YamlMappingNode Node => _node;

    public YamlWriter Add(string key, string? value)
    {
        if (value is not null)
        {
            _node.Add(key, Scalar(value));
        }

        return this;
    }

    public YamlWriter Add(string key, int? value) => value is null ? this : Plain(key, value.Value.ToString(CultureInfo.InvariantCulture));

    public YamlWriter Add(string key, long? value) => value is null ? this : Plain(key, value.Value.ToString(CultureInfo.InvariantCulture));

    public YamlWriter Add(string key, double? value) => value is null ? this : Plain(key, value.Value.ToString("R", CultureInfo.InvariantCulture));

    public YamlWriter Add(string key, bool? value) => value is null ? this : Plain(key, value.Value ? "true" : "false");

    public YamlWriter Add(string key, TimeSpan? value) => value is null ? this : Plain(key, value.Value.ToString("c", CultureInfo.InvariantCulture));

    public YamlWriter Add(string key, IEnumerable<string>? values, bool keepEmpty = false)
    {
        if (values is null)
        {
            return this;
        }

        var sequence = new YamlSequenceNode(values.Select(Scalar)) { Style = SequenceStyle.Flow };
        if (sequence.Children.Count > 0 || keepEmpty)
        {
            _node.Add(key, sequence);
        }

        return this;
    }

    public YamlWriter Add(string key, YamlWriter? child)
    {
        if (child is not null && child._node.Children.Count > 0)
        {
            _node.Add(key, child._node);
        }

        return this;
    }

    /// <summary>A list of mappings written only when <paramref name="condition"/> holds (an optional list stays out of the file).</summary>
    public YamlWriter AddIf(bool condition, string key, IEnumerable<YamlWriter> items) => condition ? Add(key, items) : this;

    public YamlWriter Add(string key, IEnumerable<YamlWriter> items)
    {
        _node.Add(key, new YamlSequenceNode(items.Select(i => (YamlNode)i._node)));
        return this;
    }

    public string ToYaml(string? headerComment = null)
    {
        var stream = new YamlStream(new YamlDocument(_node));
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        if (headerComment is not null)
        {
            foreach (var line in headerComment.Split('\n'))
            {
                writer.WriteLine($"# {line}".TrimEnd());
            }
        }

        stream.Save(writer, assignAnchors: false);
        var text = writer.ToString();
        // YamlStream ends a document with "...": harmless, but noise in a file operators read.
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text;
    }

    private YamlWriter Plain(string key, string value)
    {
        _node.Add(key, new YamlScalarNode(value) { Style = ScalarStyle.Plain });
        return this;
    }

    private static YamlScalarNode Scalar(string value)
    {
        // Quote anything YAML could read as another type or that carries special characters.
        var needsQuotes = value.Length == 0
            || value.Any(c => char.IsControl(c) || c is ':' or '#' or '\'' or '"' or '{' or '}' or '[' or ']' or ',' or '&' or '*' or '!' or '|' or '>' or '%' or '@' or '`')
            || char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1])
            || value[0] is '-' or '?'
            || value is "true" or "false" or "yes" or "no" or "on" or "off" or "null" or "~"
            || double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
        return new YamlScalarNode(value) { Style = needsQuotes ? ScalarStyle.DoubleQuoted : ScalarStyle.Plain };
    }
}
