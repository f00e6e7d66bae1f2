namespace SparkControl.Core.Validation;

/// <summary>A validation failure for one input field; the API returns these as problem-details <c>errors</c>, forms show them under the field.</summary>
public sealed record FieldError(string Field, string Message);

/// <summary>Input failed validation; nothing was changed.</summary>
public sealed class ValidationFailedException(IReadOnlyList<FieldError> errors)
    : Exception(string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}")))
{
    public IReadOnlyList<FieldError> Errors { get; } = errors;
}
