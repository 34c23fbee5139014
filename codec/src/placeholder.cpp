// replaced by the codec sources
