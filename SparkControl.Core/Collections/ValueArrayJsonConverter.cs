using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SparkControl.Core.Collections;

/// <summary>A <see cref="ValueArray{T}"/> is a JSON array, both ways (records holding one go into the store as JSON).</summary>
public sealed class ValueArrayJsonConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) => typeToConvert.IsGenericType && typeToConvert.GetGenericTypeDefinition() == typeof(ValueArray<>);

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(Converter<>).MakeGenericType(typeToConvert.GetGenericArguments()[0]))!;

    private sealed class Converter<T> : JsonConverter<ValueArray<T>>
    {
        public override ValueArray<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? default : new(JsonSerializer.Deserialize<ImmutableArray<T>>(ref reader, options));

        public override void Write(Utf8JsonWriter writer, ValueArray<T> value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value.AsImmutableArray(), options);
    }
}
