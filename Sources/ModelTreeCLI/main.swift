import ModelTree
print("stub")
